"""The page-level sequence labeller at inference: its fitted arrays, run in numpy.

Training fits a bidirectional GRU in torch (`storysplit.train.sequence`); inference must start in
a fraction of a second without torch and must never unpickle, so the fitted weights are saved as
plain arrays (`.npz`, read with `allow_pickle=False`) and the network is recomputed here: one
matrix product projects every segment of every document at once, then the recurrence steps
through the documents, all documents and both directions in each step (documents sorted by
length, so the documents still running are always a prefix); a layer above the first adds its
document's mean state below, once per document, to each row's gates. The arithmetic follows
torch's GRU (gates r, z, n; r applied to the hidden part of n after its bias), so the output equals
torch's within `TOLERANCE` (checked when a model is saved).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from storysplit.errors import ModelLoadError

FORMAT = "storysplit-sequence-head"
FORMAT_VERSION = 2
"""2: each GRU layer after the first also reads the mean of the layer below over the page."""
TOLERANCE = 1e-5
"""Largest difference in p(main) allowed between this runtime and the torch labeller."""
DIRECTIONS = ("forward", "backward")


class _Layer:
    """One bidirectional GRU layer: input weights per direction, recurrent weights stacked for both.

    The recurrence runs one step per row of the longest document, each step a dozen numpy calls
    on small arrays (their per-element work is most of the GRU's time, docs/speed.md); the weights
    are rearranged so each step needs fewer of them.
    The r and z columns are negated, so `exp` of a gate's pre-activation is e^-x and multiplying by
    sigmoid(x) = 1 / (1 + e^-x) is one division (negation is exact). The state carries a constant
    1 after its `hidden` values, whose recurrent row is n's recurrent bias, so the product adds it.
    """

    def __init__(self, arrays: dict[str, np.ndarray], layer: int) -> None:
        def get(direction: str, name: str) -> np.ndarray:
            return arrays[f"gru.{layer}.{direction}.{name}"].astype(np.float32)

        self.hidden = get("forward", "weight_hh").shape[1]
        h = self.hidden
        # The input part of all three gates, and the recurrent biases of r and z, in one product.
        self.input_weight = []
        self.input_bias = []
        for direction in DIRECTIONS:
            weight = get(direction, "weight_ih").T.copy()
            bias = get(direction, "bias_ih").copy()
            bias[: 2 * h] += get(direction, "bias_hh")[: 2 * h]
            weight[:, : 2 * h] *= -1.0
            bias[: 2 * h] *= -1.0
            self.input_weight.append(weight)
            self.input_bias.append(bias)
        # Above the first layer, the input is [row's state ; page's mean state]: the mean's part of
        # the product is one row per document, added to each of its rows' gates.
        width = self.input_weight[0].shape[0] // 2
        self.page_weight = [weight[width:].copy() for weight in self.input_weight] if layer else None
        if layer:
            self.input_weight = [weight[:width].copy() for weight in self.input_weight]
        recurrent = np.zeros((2, h + 1, 3 * h), dtype=np.float32)  # (direction, state and 1, gates)
        for k, direction in enumerate(DIRECTIONS):
            recurrent[k, :h] = get(direction, "weight_hh").T
            recurrent[k, h, 2 * h :] = get(direction, "bias_hh")[2 * h :]
        recurrent[:, :h, : 2 * h] *= -1.0
        self.recurrent_weight = recurrent

    def __call__(self, inputs: np.ndarray, plan: _StepPlan) -> np.ndarray:
        """(n_rows, input width) → (n_rows, 2 H): each row's forward and backward state."""
        h = self.hidden
        gates = np.empty((2, plan.rows, 3 * h), dtype=np.float32)
        page = plan.document_means(inputs) if self.page_weight is not None else None
        for k, order in enumerate((plan.forward, plan.backward)):
            np.matmul(inputs[order], self.input_weight[k], out=gates[k])
            gates[k] += self.input_bias[k]
            if page is not None and self.page_weight is not None:
                gates[k] += (page @ self.page_weight[k])[plan.document]
        states = np.empty((2, plan.rows, h + 1), dtype=np.float32)
        states[..., h] = 1.0
        widest = int(plan.active[0]) if plan.active.size else 0
        state = np.zeros((2, widest, h + 1), dtype=np.float32)
        state[..., h] = 1.0
        buffer = np.empty((2, widest, 3 * h), dtype=np.float32)
        # Every step writes into `buffer` and its slice of `states` in place: no array is allocated
        # per step, and the new state is read from where it was stored.
        for start, active in zip(plan.starts.tolist(), plan.active.tolist(), strict=True):
            state = state[:, :active]
            recurrent = buffer[:, :active]
            for k in (0, 1):  # two 2-D products: BLAS, where a stacked matmul is not
                np.matmul(state[k], self.recurrent_weight[k], out=recurrent[k])
            step_gates = gates[:, start : start + active]
            reset_update = recurrent[..., : 2 * h]  # -x of r and z, then 1 + e^-x: 1 / sigmoid(x)
            reset_update += step_gates[..., : 2 * h]
            np.exp(reset_update, out=reset_update)
            reset_update += 1.0
            candidate = recurrent[..., 2 * h :]
            candidate /= reset_update[..., :h]
            candidate += step_gates[..., 2 * h :]
            np.tanh(candidate, out=candidate)
            new_state = states[:, start : start + active]
            hidden = new_state[..., :h]
            np.subtract(state[..., :h], candidate, out=hidden)
            hidden /= reset_update[..., h:]
            hidden += candidate
            state = new_state
        out = np.empty((plan.rows, 2 * h), dtype=np.float32)
        out[plan.forward, :h] = states[0, :, :h]
        out[plan.backward, h:] = states[1, :, :h]
        return out


class _StepPlan:
    """Where each step's rows are, for documents run side by side, longest first.

    Rows are laid out step by step: step t holds row t of each document still running (the
    `active[t]` longest), so a step's rows are one contiguous slice from `starts[t]`. `forward`
    and `backward` give, for each position of that layout, the row of the input it reads (the
    backward direction reads each document from its end).
    """

    def __init__(self, lengths: np.ndarray) -> None:
        order = np.argsort(-lengths, kind="stable")
        sorted_lengths = lengths[order]
        starts = np.concatenate([[0], np.cumsum(lengths)])[:-1]
        steps = int(sorted_lengths[0]) if sorted_lengths.size else 0
        self.active = (sorted_lengths[None, :] > np.arange(steps)[:, None]).sum(axis=1)
        self.starts = np.concatenate([[0], np.cumsum(self.active)])[:-1]
        self.rows = int(lengths.sum())
        step_of = np.repeat(np.arange(steps), self.active)
        document = np.concatenate([order[:active] for active in self.active]) if steps else np.zeros(0, int)
        self.forward = starts[document] + step_of
        self.backward = starts[document] + lengths[document] - 1 - step_of
        self.document = document
        """For each position of the layout, the document its row belongs to."""
        self.lengths = lengths
        self.offsets = starts

    def document_means(self, rows: np.ndarray) -> np.ndarray:
        """(n_documents, width): each document's mean row, `rows` in input order (zeros for an
        empty document, whose mean is never read)."""
        means = np.zeros((len(self.lengths), rows.shape[1]), dtype=np.float32)
        bounds = zip(self.offsets.tolist(), self.lengths.tolist(), strict=True)
        for index, (start, length) in enumerate(bounds):
            if length:
                means[index] = rows[start : start + length].mean(axis=0)
        return means


class SequenceHead:
    """p(main) of every segment of a batch of documents, from a fitted page-level GRU.

    Args:
        arrays: The labeller's weights (`storysplit.train.sequence.SequenceLabeller.to_arrays`),
            checked by `head_from_arrays`.
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        """What the head was made from, as `save_sequence_head` writes it."""
        scale = arrays["scale"].astype(np.float64)
        mean = arrays["mean"].astype(np.float64)
        weight = arrays["project.weight"].astype(np.float64)
        # Standardising folded into the projection: W ((x - m) / s) + b = (W / s) x + (b - W m / s).
        folded = weight / scale[None, :]
        self.project_weight = folded.T.astype(np.float32).copy()
        self.project_bias = (arrays["project.bias"] - folded @ mean).astype(np.float32)
        self.layers = [_Layer(arrays, layer) for layer in range(_count_layers(arrays))]
        self.out_weight = arrays["out.weight"].astype(np.float32).T.copy()
        self.out_bias = arrays["out.bias"].astype(np.float32)
        self.regions = tuple(str(region) for region in arrays["regions"])
        self.n_features = weight.shape[1]

    def outputs(self, documents: Sequence[np.ndarray]) -> np.ndarray:
        """(total segments, 1 + regions) logits: column 0 main, then each region's.

        Raises:
            ValueError: a document is not (n_segments, n_features) numbers, or holds NaN or infinity.
        """
        lengths = np.array([len(d) for d in documents], dtype=np.int64)
        for document in documents:
            if document.ndim != 2 or document.shape[1] != self.n_features:
                raise ValueError(f"expected documents of shape (n, {self.n_features}), got {document.shape}")
        if not lengths.sum():
            return np.zeros((0, len(self.out_bias)))
        rows = np.concatenate([np.asarray(d, dtype=np.float32) for d in documents])
        if not np.isfinite(rows).all():
            raise ValueError("features hold NaN or infinity")
        projected = rows @ self.project_weight
        projected += self.project_bias
        np.maximum(projected, 0.0, out=projected)
        plan = _StepPlan(lengths)
        states = projected
        for layer in self.layers:
            states = layer(states, plan)
        logits = np.concatenate([states, projected], axis=1) @ self.out_weight
        logits += self.out_bias
        return logits.astype(np.float64)

    def predict_proba(self, documents: Sequence[np.ndarray]) -> np.ndarray:
        """(total segments, 2): p(boilerplate), p(main) of every segment, documents in order."""
        positive = _expit(self.outputs(documents)[:, 0])
        return np.column_stack([1.0 - positive, positive])


def _expit(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out


def _count_layers(arrays: dict[str, np.ndarray]) -> int:
    layers = 0
    while f"gru.{layers}.forward.weight_ih" in arrays:
        layers += 1
    return layers


def head_from_arrays(arrays: dict[str, np.ndarray]) -> SequenceHead:
    """The runtime `arrays` describe, after checking every name, dtype and shape.

    Raises:
        ValueError: an array is missing, unexpected, not finite, or of the wrong kind or shape.
    """
    if str(arrays.get("format", "")) != FORMAT or int(arrays.get("version", -1)) != FORMAT_VERSION:
        found = f"{arrays.get('format', 'none')!s} version {arrays.get('version', 'none')!s}"
        raise ValueError(
            f"expected format {FORMAT!r} version {FORMAT_VERSION}, found {found} (a model trained by "
            "another version of storysplit: retrain it with this one)"
        )
    layers = _count_layers(arrays)
    if layers < 1:
        raise ValueError("no GRU layer")
    projection, n_features = _shape(arrays, "project.weight", 2)
    hidden = _shape(arrays, "gru.0.forward.weight_hh", 2)[1]
    regions = arrays.get("regions")
    if regions is None or regions.dtype.kind != "U" or regions.ndim != 1:
        raise ValueError("array 'regions' must be a vector of region names")
    expected = {
        "format": (),
        "version": (),
        "regions": regions.shape,
        "mean": (n_features,),
        "scale": (n_features,),
        "project.weight": (projection, n_features),
        "project.bias": (projection,),
        "out.weight": (1 + len(regions), 2 * hidden + projection),
        "out.bias": (1 + len(regions),),
    }
    for layer in range(layers):
        width = projection if layer == 0 else 4 * hidden  # above the first: row state ; page mean
        for direction in DIRECTIONS:
            prefix = f"gru.{layer}.{direction}."
            expected |= {
                prefix + "weight_ih": (3 * hidden, width),
                prefix + "weight_hh": (3 * hidden, hidden),
                prefix + "bias_ih": (3 * hidden,),
                prefix + "bias_hh": (3 * hidden,),
            }
    unexpected = sorted(set(arrays) - set(expected))
    if unexpected:
        raise ValueError(f"unexpected arrays {unexpected}")
    for name, shape in expected.items():
        if name not in arrays:
            raise ValueError(f"array {name!r} is missing")
        if arrays[name].shape != shape:
            raise ValueError(f"array {name!r} has shape {arrays[name].shape}, expected {shape}")
        if name in ("format", "version", "regions"):
            continue
        if arrays[name].dtype not in (np.float32, np.float64) or not np.isfinite(arrays[name]).all():
            raise ValueError(f"array {name!r} must hold finite float32 or float64 numbers")
    if (arrays["scale"] <= 0).any():
        raise ValueError("array 'scale' must be positive")
    return SequenceHead(arrays)


def _shape(arrays: dict[str, np.ndarray], name: str, ndim: int) -> tuple[int, ...]:
    if name not in arrays or arrays[name].ndim != ndim:
        raise ValueError(f"array {name!r} is missing or not {ndim}-dimensional")
    return tuple(int(n) for n in arrays[name].shape)


def save_sequence_head(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Write a labeller's arrays as an uncompressed `.npz`."""
    with Path(path).open("wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle


def load_sequence_head(path: Path) -> SequenceHead:
    """Read a head written by `save_sequence_head`; never unpickles and refuses anything unexpected.

    Raises:
        ModelLoadError: not an `.npz` of this format, or arrays of the wrong names, kinds or shapes.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as error:  # zipfile, numpy header and pickle refusals all land here
        raise ModelLoadError(f"{path} is corrupt or not a sequence head: {error}") from None
    try:
        return head_from_arrays(arrays)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(f"{path} is not a valid sequence head: {error}") from None

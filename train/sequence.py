"""The page-level sequence labeller: a bidirectional GRU over a document's segment rows, trained in torch.

A segment's own row (its embedding, shape and context features) cannot tell the last paragraph of
a story from the first comment under it, nor a list of other headlines from the story's own
subheads: a reader tells them by where they sit on the page. The labeller reads every row of a
document in order, both ways, so each segment is judged with the whole page in view, and it learns
two things at once from the gold: whether a segment is main text, and which region of the page it
sits in (before the story, the story, boilerplate inside it, after it; `storysplit.labels`). The
region targets only shape what the recurrent state learns; inference reads p(main).

`SequenceLabeller` keeps scikit-learn's contract (`fit`, `predict_proba`, `get_params`, learned
attributes ending in `_`), as sklearn-crfsuite's CRF does for sequences: `X` is a sequence of
documents, each a (n_segments, n_features) array, and `predict_proba` returns one row per segment
of all documents in order. Its fitted weights go to `storysplit.sequence_head` (numpy, no torch,
nothing pickled) through `to_arrays`, checked equal to torch's output by `check_same_probabilities`.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from storysplit.labels import SegmentRegion
from storysplit.sequence_head import FORMAT, FORMAT_VERSION, TOLERANCE, SequenceHead

REGIONS = tuple(region.value for region in SegmentRegion)
PROGRESS_SECONDS = 30.0
"""How often fitting prints its progress (and at the end of every epoch)."""


class _PageGRU(nn.Module):
    """Standardise → project (ReLU) → bidirectional GRU layers → [last state ; projection] → logits.

    Each layer after the first reads, beside each row's state from the layer below, the mean of
    that layer's states over the whole page: a summary of the page the recurrence would otherwise
    have to carry from one end to the other (whether it has a comment thread, how long its story
    is). Output column 0 is the main logit, the others the region logits in `REGIONS` order. The
    projection also reaches the output directly, so a segment's own evidence need not pass
    through the recurrent state.
    """

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(
        self, n_features: int, projection: int, hidden: int, layers: int, dropout: float, outputs: int
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        self.project = nn.Linear(n_features, projection)
        self.grus = nn.ModuleList(
            nn.GRU(projection if layer == 0 else 4 * hidden, hidden, batch_first=True, bidirectional=True)
            for layer in range(layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden + projection, outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(batch, steps, n_features) padded rows and (batch,) lengths → (batch, steps, outputs)."""
        projected = self.dropout(torch.relu(self.project((x - self.mean) / self.scale)))
        mask = _mask(lengths, x.shape[1])[..., None]
        states = projected
        for layer, gru in enumerate(self.grus):
            if layer > 0:
                states = self.dropout(states)
                page = (states * mask).sum(dim=1) / lengths[:, None].to(states.dtype)
                states = torch.cat([states, page[:, None, :].expand_as(states)], dim=-1)
            packed = pack_padded_sequence(states, lengths, batch_first=True, enforce_sorted=False)
            states, _ = gru(packed)
            states, _ = pad_packed_sequence(states, batch_first=True, total_length=x.shape[1])
        return self.out(self.dropout(torch.cat([states, projected], dim=-1)))


class SequenceLabeller(ClassifierMixin, BaseEstimator):
    """Labels every segment of a document as main (1) or boilerplate (0), reading the whole page.

    Args:
        hidden_size: GRU state per direction.
        layers: Stacked bidirectional GRU layers.
        projection_size: Width of the ReLU projection of the standardised rows.
        dropout: Dropout on the projection and the GRU output, and between GRU layers.
        epochs: Passes over the training documents.
        learning_rate: AdamW's peak learning rate (linear warm-up over the first 5% of steps,
            then cosine decay to a tenth of it).
        weight_decay: AdamW's decoupled weight decay.
        batch_rows: Padded rows per batch (documents of similar length are batched together).
        region_weight: Weight of the region loss next to the main/boilerplate loss.
        seed: Seeds torch and the batch order.
        verbose: Print progress (loss and rows/s) to stderr while fitting.
    """

    def __init__(
        self,
        hidden_size: int = 96,
        layers: int = 2,
        projection_size: int = 128,
        dropout: float = 0.1,
        epochs: int = 3,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-4,
        batch_rows: int = 8192,
        region_weight: float = 0.5,
        seed: int = 13,
        verbose: bool = True,
    ) -> None:
        self.hidden_size = hidden_size
        self.layers = layers
        self.projection_size = projection_size
        self.dropout = dropout
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_rows = batch_rows
        self.region_weight = region_weight
        self.seed = seed
        self.verbose = verbose

    def fit(
        self,
        X: Sequence[np.ndarray],
        y: Sequence[np.ndarray],
        sample_weight: Sequence[np.ndarray] | None = None,
        regions: Sequence[np.ndarray] | None = None,
    ) -> SequenceLabeller:
        """Fit on documents.

        Args:
            X: Per document, its (n_segments, n_features) rows.
            y: Per document, (n_segments,) 1 for main, 0 for boilerplate.
            sample_weight: Per document, (n_segments,) weights of the main/boilerplate loss (0 skips
                an ambiguous segment); None weighs every segment 1.
            regions: Per document, (n_segments,) region codes (indices into `REGIONS`); None
                trains the main/boilerplate output alone.
        """
        documents = _checked_documents(X)
        labels = _per_document(y, documents, "y")
        weights = (
            _per_document(sample_weight, documents, "sample_weight")
            if sample_weight is not None
            else [np.ones(len(d), dtype=np.float32) for d in documents]
        )
        region_codes = _per_document(regions, documents, "regions") if regions is not None else None
        torch.manual_seed(self.seed)
        self.n_features_in_ = documents[0].shape[1]
        self.classes_ = np.array([0, 1])
        self.regions_ = REGIONS
        module = _PageGRU(
            self.n_features_in_,
            self.projection_size,
            self.hidden_size,
            self.layers,
            self.dropout,
            1 + len(REGIONS),
        )
        mean, scale = _standardisation(documents)
        module.mean.copy_(torch.from_numpy(mean))
        module.scale.copy_(torch.from_numpy(scale))
        batches = _length_batches([len(d) for d in documents], self.batch_rows)
        optimizer = torch.optim.AdamW(
            module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        total_steps = max(1, self.epochs * len(batches))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: _learning_rate_factor(step, total_steps)
        )
        order = np.random.default_rng(self.seed)
        started = last_report = time.perf_counter()
        rows_seen = 0
        self.loss_curve_: list[float] = []
        module.train()
        for epoch in range(self.epochs):
            epoch_loss, epoch_rows = 0.0, 0
            for step, batch in enumerate(order.permutation(len(batches))):
                chosen = batches[batch]
                x, lengths = _padded([documents[i] for i in chosen])
                target = _padded_targets([labels[i] for i in chosen], x.shape[1])
                weight = _padded_targets([weights[i] for i in chosen], x.shape[1])
                logits = module(x, lengths)
                mask = _mask(lengths, x.shape[1])
                loss = _main_loss(logits[..., 0], target, weight * mask)
                if region_codes is not None and self.region_weight > 0:
                    region_target = _padded_targets([region_codes[i] for i in chosen], x.shape[1]).long()
                    loss = loss + self.region_weight * _region_loss(logits[..., 1:], region_target, mask)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(module.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                rows = int(lengths.sum())
                epoch_loss += float(loss.detach()) * rows
                epoch_rows += rows
                rows_seen += rows
                now = time.perf_counter()
                if self.verbose and (now - last_report >= PROGRESS_SECONDS or step == len(batches) - 1):
                    last_report = now
                    rate = rows_seen / max(now - started, 1e-9)
                    print(
                        f"sequence labeller: epoch {epoch + 1}/{self.epochs}, "
                        f"batch {step + 1}/{len(batches)}, "
                        f"loss {epoch_loss / max(epoch_rows, 1):.4f}, {rate:,.0f} rows/s",
                        file=sys.stderr,
                        flush=True,
                    )
            self.loss_curve_.append(epoch_loss / max(epoch_rows, 1))
        module.eval()
        self.module_ = module
        return self

    def predict_proba(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """(total segments, 2): p(boilerplate), p(main) of every segment, documents in order."""
        main = self._outputs(X)[:, 0]
        positive = 1.0 / (1.0 + np.exp(-main))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """(total segments,) 1 where p(main) >= 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def predict_regions(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """(total segments, len(REGIONS)): each segment's region probabilities."""
        logits = self._outputs(X)[:, 1:]
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def _outputs(self, X: Sequence[np.ndarray]) -> np.ndarray:
        documents = _checked_documents(X, allow_empty=True)
        outputs = np.zeros((sum(len(d) for d in documents), 1 + len(REGIONS)), dtype=np.float64)
        starts = np.concatenate([[0], np.cumsum([len(d) for d in documents])])
        with torch.no_grad():
            for chosen in _length_batches([len(d) for d in documents], self.batch_rows):
                chosen = [i for i in chosen if len(documents[i])]
                if not chosen:
                    continue
                x, lengths = _padded([documents[i] for i in chosen])
                logits = self.module_(x, lengths).double().numpy()
                for row, i in enumerate(chosen):
                    outputs[starts[i] : starts[i + 1]] = logits[row, : len(documents[i])]
        return outputs

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted weights in the layout `storysplit.sequence_head.SequenceHead` reads."""
        state = {name: value.detach().double().numpy() for name, value in self.module_.state_dict().items()}
        arrays: dict[str, np.ndarray] = {
            "format": np.array(FORMAT),
            "version": np.array(FORMAT_VERSION),
            "regions": np.array(REGIONS),
            "mean": state["mean"],
            "scale": state["scale"],
            "project.weight": state["project.weight"],
            "project.bias": state["project.bias"],
            "out.weight": state["out.weight"],
            "out.bias": state["out.bias"],
        }
        for layer in range(self.layers):
            for direction, suffix in (("forward", ""), ("backward", "_reverse")):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    arrays[f"gru.{layer}.{direction}.{name}"] = state[f"grus.{layer}.{name}_l0{suffix}"]
        return {
            name: value.astype(np.float32) if value.dtype == np.float64 else value
            for name, value in arrays.items()
        }


def check_same_probabilities(
    labeller: SequenceLabeller, head: SequenceHead, documents: Sequence[np.ndarray]
) -> float:
    """Largest difference in p(main) between the torch labeller and its numpy head on `documents`.

    Raises:
        ValueError: the difference exceeds `storysplit.sequence_head.TOLERANCE`.
    """
    expected = labeller.predict_proba(documents)[:, 1]
    worst = float(np.abs(head.predict_proba(documents)[:, 1] - expected).max(initial=0.0))
    if worst > TOLERANCE:
        raise ValueError(
            f"the numpy sequence head differs from the torch labeller by {worst:.3g} > {TOLERANCE}"
        )
    return worst


def _checked_documents(X: Sequence[np.ndarray], allow_empty: bool = False) -> list[np.ndarray]:
    if isinstance(X, np.ndarray):
        raise TypeError("X is a sequence of documents, each a (n_segments, n_features) array, not one array")
    documents = [np.asarray(d) for d in X]
    if not documents and not allow_empty:
        raise ValueError("no documents to fit on")
    widths = {d.shape[1] for d in documents if d.ndim == 2}
    if any(d.ndim != 2 for d in documents) or len(widths) > 1:
        raise ValueError(f"every document must be a 2-D array of one width; got widths {sorted(widths)}")
    return documents


def _per_document(values: Sequence[np.ndarray], documents: list[np.ndarray], name: str) -> list[np.ndarray]:
    arrays = [np.asarray(v) for v in values]
    if len(arrays) != len(documents) or any(
        len(a) != len(d) for a, d in zip(arrays, documents, strict=False)
    ):
        raise ValueError(f"{name} must hold one value per segment of each document")
    return arrays


def _standardisation(documents: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation over every row (float64 sums, one document at a time)."""
    total = np.zeros(documents[0].shape[1])
    squares = np.zeros(documents[0].shape[1])
    count = 0
    for document in documents:
        rows = document.astype(np.float64)
        total += rows.sum(axis=0)
        squares += (rows * rows).sum(axis=0)
        count += len(rows)
    mean = total / max(count, 1)
    variance = np.maximum(squares / max(count, 1) - mean * mean, 0.0)
    scale = np.sqrt(variance)
    scale[scale < 1e-6] = 1.0
    return mean.astype(np.float32), scale.astype(np.float32)


def _length_batches(lengths: Sequence[int], batch_rows: int) -> list[list[int]]:
    """Documents sorted by length, cut into batches of at most `batch_rows` padded rows."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        if current and (len(current) + 1) * max(lengths[index], 1) > batch_rows:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def _padded(documents: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = np.array([len(d) for d in documents])
    x = np.zeros((len(documents), int(lengths.max()), documents[0].shape[1]), dtype=np.float32)
    for row, document in enumerate(documents):
        x[row, : len(document)] = document
    return torch.from_numpy(x), torch.from_numpy(lengths)


def _padded_targets(values: list[np.ndarray], steps: int) -> torch.Tensor:
    out = np.zeros((len(values), steps), dtype=np.float32)
    for row, value in enumerate(values):
        out[row, : len(value)] = value
    return torch.from_numpy(out)


def _mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    return (torch.arange(steps)[None, :] < lengths[:, None]).float()


def _main_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    losses = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (losses * weight).sum() / weight.sum().clamp(min=1.0)


def _region_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    losses = nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none"
    )
    return (losses * mask.reshape(-1)).sum() / mask.sum().clamp(min=1.0)


def _learning_rate_factor(step: int, total: int) -> float:
    warmup = max(1, total // 20)
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

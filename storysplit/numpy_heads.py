"""The fitted heads as plain arrays, and a numpy predictor that reads them.

Loading a scikit-learn estimator costs the import of scikit-learn (and, through its array-API
shim, torch): seconds per process, before the first page. The heads training produces are simple
once fitted, so at save time they are reduced to their arrays (coefficients, tree node arrays,
calibration curves) and saved as `.npz`, read with `allow_pickle=False`: no object in the file is
ever built or called. `NumpyHead.predict_proba` repeats scikit-learn's arithmetic step by step
(same dtypes, same order of operations), so probabilities agree to float rounding.

Supported (what `train/fit.py` builds), each on its own or inside
`CalibratedClassifierCV(FrozenEstimator(...), method="sigmoid" | "isotonic")` (several
`calibrated_classifiers_` too, averaged as scikit-learn does):

- `Pipeline([StandardScaler(), LogisticRegression()])`, or a bare binary `LogisticRegression`;
- a binary `HistGradientBoostingClassifier` on numeric features (no categorical features).

`head_arrays` (the conversion) imports scikit-learn; nothing else here does.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from storysplit.errors import ModelLoadError
from storysplit.onnx_trees import OnnxTrees, TreeArrays, ensemble_model

FORMAT = "storysplit-numpy-head"
FORMAT_VERSION = 1
MODELS = ("linear", "trees")
CALIBRATIONS = ("none", "sigmoid", "isotonic")
# Rows per tree walk: (trees × rows) index arrays of 512 rows stay in the CPU's cache (measured
# 1.5-2x faster than 2,048 or 3,000 rows at once).
TREE_CHUNK_ROWS = 512
# Levels between drops of the walks that reached a leaf (every level: the dropping costs more).
COMPACT_EVERY = 2
# Rows from which the trees run on onnxruntime (`storysplit.onnx_trees`), whose import and session
# cost ~0.1 s once per process: the numpy walk of ~7,000 rows. One page (~300 rows) stays in numpy.
ONNX_MIN_ROWS = 4096
# Largest difference in probability allowed between a numpy head and its scikit-learn estimator.
TOLERANCE = 1e-5


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function in float64, without overflow warnings (scipy's `expit` to ~1 ulp)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out


class LinearScores:
    """`StandardScaler` then `LogisticRegression.decision_function`.

    Args:
        mean: (n_features,) subtracted, in the input's float dtype as scikit-learn does.
        scale: (n_features,) divided by after centring.
        coef: (1, n_features) weights.
        intercept: (1,) bias.
    """

    def __init__(self, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> None:
        self.mean = mean
        self.scale = scale
        self.coef = coef
        self.intercept = intercept

    def decision(self, features: np.ndarray) -> np.ndarray:
        """Shape (n_rows,): the logit of class 1 in scikit-learn's dtype (float32 for float32 weights, rows).

        Raises:
            ValueError: NaN or inf in `features`, as scikit-learn's validation does.
        """
        dtype = features.dtype if features.dtype in (np.float32, np.float64) else np.float64
        x = np.asarray(features, dtype=dtype)
        centred = x - self.mean.astype(dtype)  # a new array: the caller's features stay as they are
        centred /= self.scale.astype(dtype)
        logits = np.asarray(centred @ self.coef.T + self.intercept).reshape(-1)
        # A NaN or infinity in a row always makes its logit NaN or infinite (times a zero weight
        # too), so the rows are searched only when a logit is.
        if not np.isfinite(logits).all() and not np.isfinite(x).all():
            raise ValueError("Input X contains NaN or infinity; the linear head needs finite features")
        return logits


class TreeScores:
    """A binary histogram gradient boosting ensemble: baseline plus the sum of its trees' leaves.

    From `ONNX_MIN_ROWS` rows on (and for every batch once that has happened in the process), the
    trees run on onnxruntime instead, with the same sums to the bit; without onnxruntime, in numpy.

    All trees are walked together, one level per numpy step over every (tree, row) pair still
    inside a tree, so a page costs a few numpy passes per tree level rather than a Python loop per
    tree. Pairs that reached a leaf are dropped every few levels: the trees are up to ~20 levels
    deep but most rows end after ~5, and the walk would otherwise pay the deepest path for all.
    Nodes are addressed by twice their index (`2 i` goes left to `children[2 i]`, right to
    `children[2 i + 1]`), which saves one multiplication per level; a leaf's children are itself.

    Args:
        trees: The ensemble's node arrays.
    """

    def __init__(self, trees: TreeArrays) -> None:
        self.trees = trees
        self._onnx: OnnxTrees | None = None
        self._onnx_process = 0
        self._onnx_unavailable = False
        offsets, left, right = trees.offsets, trees.left, trees.right
        n_nodes = len(trees.feature)
        leaf = trees.is_leaf.astype(bool)
        starts = np.repeat(offsets[:-1], np.diff(offsets))
        own = np.arange(n_nodes, dtype=np.intp)
        self.baseline = float(trees.baseline)
        self.n_trees = len(offsets) - 1
        self.roots = 2 * offsets[:-1].astype(np.intp)
        self.children = np.empty(2 * n_nodes, dtype=np.intp)
        self.children[0::2] = 2 * np.where(leaf, own, starts + left)
        self.children[1::2] = 2 * np.where(leaf, own, starts + right)
        # Node fields at even positions, so that the doubled index reads them directly.
        self.feature = _at_even(np.where(leaf, 0, trees.feature).astype(np.intp))
        self.threshold = _at_even(np.where(leaf, 0.0, trees.threshold).astype(np.float64))
        # A missing value goes right where scikit-learn's `missing_go_to_left` is 0.
        self.missing_right = _at_even(~trees.missing_left.astype(bool) & ~leaf)
        self.is_leaf = _at_even(leaf)
        self.value = _at_even(trees.value.astype(np.float64))
        self.depth = _max_depth(self.roots, self.children, self.is_leaf)

    def decision(self, features: np.ndarray) -> np.ndarray:
        """Shape (n_rows,): the raw prediction (logit of class 1), as `decision_function` gives it."""
        x = np.ascontiguousarray(features, dtype=np.float64)
        onnx = self._onnx_for(x.shape[0])
        return self._walk(x) if onnx is None else onnx.decision(x)

    def _walk(self, x: np.ndarray) -> np.ndarray:
        """The numpy walk of contiguous float64 rows, `TREE_CHUNK_ROWS` at a time."""
        raw = np.empty(x.shape[0], dtype=np.float64)
        for first in range(0, x.shape[0], TREE_CHUNK_ROWS):
            raw[first : first + TREE_CHUNK_ROWS] = self._raw(x[first : first + TREE_CHUNK_ROWS])
        return raw

    def _onnx_for(self, rows: int) -> OnnxTrees | None:
        """The onnxruntime session, built when a batch first has `ONNX_MIN_ROWS` rows (again in a
        forked child: a session is not shared across a fork); None when onnxruntime is missing or
        refuses the graph (the numpy walk gives the same sums)."""
        if self._onnx is not None and self._onnx_process == os.getpid():
            return self._onnx
        if rows < ONNX_MIN_ROWS or self._onnx_unavailable:
            return None
        try:
            self._onnx = OnnxTrees(ensemble_model(self.trees))
        except ImportError:
            self._onnx_unavailable = True
            return None
        except Exception as error:  # an onnxruntime too old for TreeEnsemble, say: numpy serves
            warnings.warn(f"onnxruntime cannot run the trees, numpy walks them: {error}", RuntimeWarning, 2)
            self._onnx_unavailable = True
            return None
        self._onnx_process = os.getpid()
        return self._onnx

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to spawned workers) without the session, which each process builds for itself."""
        return self.__dict__ | {"_onnx": None, "_onnx_process": 0}

    def _raw(self, x: np.ndarray) -> np.ndarray:
        n_rows, width = x.shape
        flat = x.reshape(-1)
        has_missing = bool(np.isnan(flat).any())
        # One entry per (tree, row) pair, tree-major; `pair` says where its leaf value goes.
        node = np.repeat(self.roots, n_rows)
        row_start = np.tile(np.arange(n_rows, dtype=np.intp) * width, self.n_trees)
        pair = np.arange(node.size)
        leaves = np.empty(node.size, dtype=np.float64)
        for level in range(self.depth):
            values = flat.take(self.feature.take(node) + row_start)
            go_right = values > self.threshold.take(node)  # x <= threshold goes left, as in sklearn
            if has_missing:
                go_right |= np.isnan(values) & self.missing_right.take(node)
            node = self.children.take(node + go_right)
            if level % COMPACT_EVERY == COMPACT_EVERY - 1:
                done = self.is_leaf.take(node)
                leaves[pair[done]] = self.value.take(node[done])
                walking = ~done
                node, row_start, pair = node[walking], row_start[walking], pair[walking]
        leaves[pair] = self.value.take(node)
        # Added tree by tree onto the baseline, in scikit-learn's order.
        raw = np.full(n_rows, self.baseline)
        for tree in leaves.reshape(self.n_trees, n_rows):
            raw += tree
        return raw


class SigmoidCalibration:
    """Platt scaling as `_SigmoidCalibration.predict`: expit(-(a f + b))."""

    def __init__(self, a: float, b: float) -> None:
        # numpy float64 scalars, as in scikit-learn: a Python float times a float32 array stays float32.
        self.a = np.float64(a)
        self.b = np.float64(b)

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return expit(-(self.a * scores + self.b))


class IsotonicCalibration:
    """`IsotonicRegression(out_of_bounds="clip").predict`: clip, then linear interpolation.

    Args:
        x: (k,) increasing thresholds (`X_thresholds_`).
        y: (k,) calibrated values at them (`y_thresholds_`).
        bounds: (2,) `X_min_`, `X_max_`.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, bounds: np.ndarray) -> None:
        self.x = x.astype(np.float64)
        self.y = y.astype(np.float64)
        self.bounds = (float(bounds[0]), float(bounds[1]))

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        clipped = np.clip(scores.astype(np.float64), *self.bounds)
        if len(self.y) == 1:
            return np.full(clipped.shape, self.y[0])
        return np.interp(clipped, self.x, self.y)


Scores = LinearScores | TreeScores
Calibration = SigmoidCalibration | IsotonicCalibration | None


class NumpyHead:
    """A fitted binary head: p(class 1) is the mean over members of calibrate(score(features)).

    Duck-types the part of a scikit-learn classifier inference uses (`predict_proba`).

    Args:
        members: (scores, calibration) pairs; one for an uncalibrated head, one per
            `calibrated_classifiers_` entry otherwise (calibration None means expit of the score).
        n_features: Width of the feature rows the head was fitted on.
    """

    def __init__(self, members: list[tuple[Scores, Calibration]], n_features: int) -> None:
        if not members:
            raise ValueError("a head needs at least one member")
        self.members = members
        self.n_features = n_features

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Shape (n_rows, 2): p(class 0), p(class 1), like scikit-learn's `predict_proba`.

        Raises:
            ValueError: `features` is not (n_rows, n_features) numbers.
        """
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise ValueError(f"expected features of shape (n, {self.n_features}), got {features.shape}")
        total = np.zeros(features.shape[0], dtype=np.float64)
        for scores, calibration in self.members:
            decision = scores.decision(features)
            if calibration is None:
                total += expit(decision).astype(decision.dtype)
                continue
            # scikit-learn also rounds values just above 1 down to 1; neither calibration makes any.
            total += calibration(decision)
        positive = total / len(self.members)
        return np.column_stack([1.0 - positive, positive])


def save_head(head: Any, path: Path) -> None:
    """Write a fitted scikit-learn head, or its `head_arrays`, to `path` as an uncompressed `.npz`."""
    arrays = head if isinstance(head, dict) else head_arrays(head)
    with Path(path).open("wb") as handle:
        np.savez(handle, **arrays)


def load_head(path: Path) -> NumpyHead:
    """Read a head written by `save_head`; never unpickles and refuses anything unexpected.

    Raises:
        ModelLoadError: not an `.npz` of this format, object arrays, unknown or missing arrays,
            wrong shapes or dtypes, or trees whose children do not lie below their parents.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as error:  # zipfile, numpy header and pickle refusals all land here
        raise ModelLoadError(f"{path} is corrupt or not a numpy head: {error}") from None
    try:
        return head_from_arrays(arrays)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(f"{path} is not a valid numpy head: {error}") from None


def head_from_arrays(arrays: dict[str, np.ndarray]) -> NumpyHead:
    """The predictor `arrays` describe, after checking every name, dtype and shape.

    Raises:
        ValueError: an array is missing, unexpected, or of the wrong kind or shape.
    """
    reader = _Reader(arrays)
    if reader.text("format") != FORMAT or reader.integer("version") != FORMAT_VERSION:
        raise ValueError(f"expected format {FORMAT!r} version {FORMAT_VERSION}")
    n_features = reader.integer("n_features")
    n_members = reader.integer("members")
    if n_features < 1 or n_members < 1:
        raise ValueError("n_features and members must be positive")
    members = []
    for index in range(n_members):
        prefix = f"m{index}."
        model = reader.text(prefix + "model")
        scores: Scores
        if model == "linear":
            scores = LinearScores(
                reader.floats(prefix + "mean", (n_features,)),
                reader.floats(prefix + "scale", (n_features,)),
                reader.floats(prefix + "coef", (1, n_features)),
                reader.floats(prefix + "intercept", (1,)),
            )
        elif model == "trees":
            scores = _trees(reader, prefix, n_features)
        else:
            raise ValueError(f"{prefix}model is {model!r}, expected one of {MODELS}")
        members.append((scores, _calibration(reader, prefix)))
    reader.check_all_read()
    return NumpyHead(members, n_features)


def _trees(reader: _Reader, prefix: str, n_features: int) -> TreeScores:
    offsets = reader.integers(prefix + "offsets", None)
    if offsets.ndim != 1 or len(offsets) < 2 or offsets[0] != 0 or (np.diff(offsets) < 1).any():
        raise ValueError(f"{prefix}offsets must start at 0 and increase")
    n_nodes = int(offsets[-1])
    feature = reader.integers(prefix + "feature", (n_nodes,))
    left = reader.integers(prefix + "left", (n_nodes,))
    right = reader.integers(prefix + "right", (n_nodes,))
    is_leaf = reader.booleans(prefix + "is_leaf", (n_nodes,))
    internal = ~is_leaf
    local = np.arange(n_nodes) - np.repeat(offsets[:-1], np.diff(offsets))
    sizes = np.repeat(np.diff(offsets), np.diff(offsets))
    for name, child in (("left", left), ("right", right)):
        # Children after their parent and inside their tree: every walk ends within the tree's size.
        if ((child <= local) | (child >= sizes))[internal].any():
            raise ValueError(f"{prefix}{name} points outside its tree or not below its parent")
    if ((feature < 0) | (feature >= n_features))[internal].any():
        raise ValueError(f"{prefix}feature holds indices outside 0..{n_features - 1}")
    return TreeScores(
        TreeArrays(
            baseline=reader.scalar(prefix + "baseline"),
            offsets=offsets,
            feature=feature,
            # +inf is a legitimate threshold: a split that sends only missing values right.
            threshold=reader.floats(prefix + "threshold", (n_nodes,), allow_inf=True),
            missing_left=reader.booleans(prefix + "missing_left", (n_nodes,)),
            is_leaf=is_leaf,
            value=reader.floats(prefix + "value", (n_nodes,)),
            left=left,
            right=right,
            n_features=n_features,
        )
    )


def _calibration(reader: _Reader, prefix: str) -> Calibration:
    kind = reader.text(prefix + "calibration")
    if kind == "none":
        return None
    if kind == "sigmoid":
        return SigmoidCalibration(reader.scalar(prefix + "a"), reader.scalar(prefix + "b"))
    if kind == "isotonic":
        x = reader.floats(prefix + "x", None)
        if x.ndim != 1 or len(x) < 1 or (np.diff(x) < 0).any():
            raise ValueError(f"{prefix}x must be a non-empty increasing vector")
        y = reader.floats(prefix + "y", x.shape)
        return IsotonicCalibration(x, y, reader.floats(prefix + "bounds", (2,)))
    raise ValueError(f"{prefix}calibration is {kind!r}, expected one of {CALIBRATIONS}")


def _at_even(values: np.ndarray) -> np.ndarray:
    """`values` at the even positions of an array twice as long (odd positions are never read)."""
    spread = np.zeros(2 * len(values), dtype=values.dtype)
    spread[0::2] = values
    return spread


def _max_depth(roots: np.ndarray, children: np.ndarray, is_leaf: np.ndarray) -> int:
    """Edges on the longest root-to-leaf path over all trees (children lie below parents, so it ends).

    Nodes are doubled indices, as `TreeScores` keeps them.
    """
    depth = 0
    frontier = roots[~is_leaf[roots]]
    while frontier.size:
        depth += 1
        frontier = np.concatenate([children[frontier], children[frontier + 1]])
        frontier = frontier[~is_leaf[frontier]]
    return depth


class _Reader:
    """Typed access to a head's arrays that remembers which were read, so extras can be refused."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.read: set[str] = set()

    def _get(self, name: str, kinds: str, shape: tuple[int, ...] | None) -> np.ndarray:
        if name not in self.arrays:
            raise KeyError(f"array {name!r} is missing")
        array = self.arrays[name]
        self.read.add(name)
        if array.dtype.kind not in kinds:
            raise TypeError(f"array {name!r} has dtype {array.dtype}, expected kind {kinds!r}")
        if shape is not None and array.shape != shape:
            raise ValueError(f"array {name!r} has shape {array.shape}, expected {shape}")
        return array

    def text(self, name: str) -> str:
        return str(self._get(name, "U", ()))

    def integer(self, name: str) -> int:
        return int(self._get(name, "iu", ()))

    def integers(self, name: str, shape: tuple[int, ...] | None) -> np.ndarray:
        return self._get(name, "iu", shape).astype(np.int64)

    def floats(self, name: str, shape: tuple[int, ...] | None, allow_inf: bool = False) -> np.ndarray:
        array = self._get(name, "f", shape)
        if array.dtype not in (np.float32, np.float64):
            raise TypeError(f"array {name!r} has dtype {array.dtype}, expected float32 or float64")
        if np.isnan(array).any() or (not allow_inf and np.isinf(array).any()):
            raise ValueError(f"array {name!r} holds NaN{'' if allow_inf else ' or infinity'}")
        return array

    def scalar(self, name: str) -> float:
        return float(self.floats(name, ()))

    def booleans(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        return self._get(name, "b", shape)

    def check_all_read(self) -> None:
        unexpected = sorted(set(self.arrays) - self.read)
        if unexpected:
            raise ValueError(f"unexpected arrays {unexpected}")


def head_arrays(estimator: Any) -> dict[str, np.ndarray]:
    """The arrays of a fitted scikit-learn head, in the layout `head_from_arrays` reads.

    Raises:
        TypeError: an estimator, calibration or class layout this predictor does not implement
            (the message names it), rather than saving something that would predict differently.
    """
    from sklearn.calibration import CalibratedClassifierCV

    if isinstance(estimator, CalibratedClassifierCV):
        _check_binary(estimator)
        members = [
            (_unfrozen(c.estimator), c.calibrators, c.method) for c in estimator.calibrated_classifiers_
        ]
    else:
        members = [(estimator, [], "none")]
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "version": np.array(FORMAT_VERSION),
        "members": np.array(len(members)),
    }
    widths = set()
    for index, (base, calibrators, method) in enumerate(members):
        prefix = f"m{index}."
        base_arrays, width = _base_arrays(base)
        widths.add(width)
        arrays |= {prefix + name: value for name, value in base_arrays.items()}
        arrays |= {prefix + name: value for name, value in _calibration_arrays(calibrators, method).items()}
    if len(widths) != 1:
        raise TypeError(f"calibrated members disagree on the number of features: {sorted(widths)}")
    arrays["n_features"] = np.array(widths.pop())
    return arrays


def check_same_probabilities(estimator: Any, arrays: dict[str, np.ndarray], rows: int = 1000) -> float:
    """Largest difference between the estimator's and the numpy head's p(class 1) on random rows.

    Rows are drawn wide (normal, sd 3) in float32 and float64, with missing values when every
    member is a tree ensemble (the linear head refuses them, as scikit-learn does), so that most
    branches and both dtypes are exercised.

    Raises:
        ValueError: the difference exceeds `TOLERANCE`.
    """
    head = head_from_arrays(arrays)
    random = np.random.default_rng(0)
    batches = [random.normal(0.0, 3.0, size=(rows, head.n_features))]
    batches.append(batches[0].astype(np.float32))
    if all(isinstance(scores, TreeScores) for scores, _ in head.members):
        gappy = batches[0].copy()
        gappy[random.random(gappy.shape) < 0.1] = np.nan
        batches.append(gappy)
    worst = 0.0
    for batch in batches:
        expected = np.asarray(estimator.predict_proba(batch), dtype=np.float64)[:, 1]
        worst = max(worst, float(np.abs(head.predict_proba(batch)[:, 1] - expected).max()))
    if worst > TOLERANCE:
        name = type(estimator).__name__
        raise ValueError(f"the numpy head differs from {name} by {worst:.3g} > {TOLERANCE}")
    return worst


def _check_binary(estimator: Any) -> None:
    classes = getattr(estimator, "classes_", None)
    if classes is None or list(np.asarray(classes).tolist()) != [0, 1]:
        raise TypeError(f"{type(estimator).__name__} has classes {classes!r}; only [0, 1] is supported")


def _unfrozen(estimator: Any) -> Any:
    from sklearn.frozen import FrozenEstimator

    return estimator.estimator if isinstance(estimator, FrozenEstimator) else estimator


def _base_arrays(estimator: Any) -> tuple[dict[str, np.ndarray], int]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    estimator = _unfrozen(estimator)
    scaler = None
    if isinstance(estimator, Pipeline):
        steps = [step for _, step in estimator.steps if step not in (None, "passthrough")]
        if len(steps) != 2 or not isinstance(steps[0], StandardScaler):
            raise TypeError(f"unsupported pipeline {estimator!r}; expected StandardScaler then a classifier")
        scaler, estimator = steps
    if isinstance(estimator, LogisticRegression):
        _check_binary(estimator)
        width = int(estimator.coef_.shape[1])
        if estimator.coef_.shape != (1, width):
            raise TypeError(f"logistic regression with coef_ of shape {estimator.coef_.shape} is not binary")
        mean, scale = np.zeros(width), np.ones(width)
        if scaler is not None:
            # X - 0 and X / 1 are exact, so a step the scaler skips costs nothing to repeat.
            if scaler.with_mean:
                mean = np.asarray(scaler.mean_, dtype=np.float64)
            if scaler.with_std:
                scale = np.asarray(scaler.scale_, dtype=np.float64)
        return {
            "model": np.array("linear"),
            "mean": mean,
            "scale": scale,
            # In their fitted dtype: a head fitted on float32 rows scores in float32.
            "coef": np.asarray(estimator.coef_),
            "intercept": np.asarray(estimator.intercept_).reshape(1),
        }, width
    if scaler is None and isinstance(estimator, HistGradientBoostingClassifier):
        return _tree_arrays(estimator)
    raise TypeError(
        f"no numpy predictor for {type(estimator).__name__}; supported: Pipeline(StandardScaler, "
        "LogisticRegression), LogisticRegression, HistGradientBoostingClassifier"
    )


def _tree_arrays(model: Any) -> tuple[dict[str, np.ndarray], int]:
    _check_binary(model)
    if model.n_trees_per_iteration_ != 1:
        raise TypeError("only binary HistGradientBoostingClassifier heads are supported")
    categorical = getattr(model, "is_categorical_", None)
    if getattr(model, "_preprocessor", None) is not None or (categorical is not None and categorical.any()):
        raise TypeError("HistGradientBoostingClassifier with categorical features is not supported")
    nodes = [predictors[0].nodes for predictors in model._predictors]
    if any(n["is_categorical"].any() for n in nodes):
        raise TypeError("HistGradientBoostingClassifier with categorical splits is not supported")
    merged = np.concatenate(nodes)
    return {
        "model": np.array("trees"),
        "baseline": np.asarray(model._baseline_prediction, dtype=np.float64).reshape(()),
        "offsets": np.concatenate([[0], np.cumsum([len(n) for n in nodes])]).astype(np.int64),
        "feature": merged["feature_idx"].astype(np.int64),
        "threshold": merged["num_threshold"].astype(np.float64),
        "missing_left": merged["missing_go_to_left"].astype(bool),
        "is_leaf": merged["is_leaf"].astype(bool),
        "value": merged["value"].astype(np.float64),
        "left": merged["left"].astype(np.int64),
        "right": merged["right"].astype(np.int64),
    }, int(model.n_features_in_)


def _calibration_arrays(calibrators: list[Any], method: str) -> dict[str, np.ndarray]:
    if method == "none":
        return {"calibration": np.array("none")}
    if len(calibrators) != 1:
        raise TypeError(f"a binary calibrated head has one calibrator, this one has {len(calibrators)}")
    calibrator = calibrators[0]
    if method == "sigmoid":
        return {
            "calibration": np.array("sigmoid"),
            "a": np.asarray(calibrator.a_, dtype=np.float64).reshape(()),
            "b": np.asarray(calibrator.b_, dtype=np.float64).reshape(()),
        }
    if method == "isotonic":
        if calibrator.out_of_bounds != "clip":
            raise TypeError(f"isotonic calibration with out_of_bounds={calibrator.out_of_bounds!r}")
        return {
            "calibration": np.array("isotonic"),
            "x": np.asarray(calibrator.X_thresholds_, dtype=np.float64),
            "y": np.asarray(calibrator.y_thresholds_, dtype=np.float64),
            "bounds": np.array([calibrator.X_min_, calibrator.X_max_], dtype=np.float64),
        }
    raise TypeError(f"calibration method {method!r} is not supported; use sigmoid or isotonic")

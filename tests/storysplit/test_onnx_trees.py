"""onnxruntime's walk of the trees gives the numpy walk's sums to the bit, and is used only when it pays."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from storysplit import numpy_heads
from storysplit.artifact import load_skops_head
from storysplit.numpy_heads import ONNX_MIN_ROWS, TreeScores, head_arrays, head_from_arrays
from storysplit.numpy_heads import load_head as load_numpy_head
from storysplit.onnx_trees import OnnxTrees, _varints, ensemble_model

REPO = Path(__file__).resolve().parents[2]
REVISER = REPO / "models" / "default" / "reviser.npz"
FIELDS = ("offsets", "feature", "threshold", "missing_left", "is_leaf", "value", "left", "right")


@pytest.fixture(autouse=True)
def _one_openmp_thread() -> Iterator[None]:
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _tree_scores(arrays: dict[str, np.ndarray], member: int = 0) -> TreeScores:
    scores = head_from_arrays(arrays).members[member][0]
    assert isinstance(scores, TreeScores)
    return scores


def _numpy_walk(scores: TreeScores, rows: np.ndarray) -> np.ndarray:
    """The numpy walk, whatever the number of rows."""
    return scores._walk(np.ascontiguousarray(rows, dtype=np.float64))


def _fitted_trees(seed: int, missing: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
    random = np.random.default_rng(seed)
    x = random.normal(size=(600, 5)) * [1, 10, 0.01, 1, 1]
    x[:, 3] = np.round(x[:, 3])  # few distinct values: rows fall on the split values
    y = (x[:, 0] + x[:, 1] / 10 + random.normal(size=len(x)) > 0).astype(np.int64)
    x[random.random(x.shape) < missing] = np.nan
    model = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=15, early_stopping=False)
    model.fit(x, y)
    probe = np.tile(x, (8, 1)) + random.normal(size=(8 * len(x), 5)) * (random.random((8 * len(x), 5)) < 0.5)
    return head_arrays(model), probe


def test_the_varints_are_protobuf_s() -> None:
    assert _varints(np.array([0, 1, 127, 128, 300, 2**63 - 1])) == (
        b"\x00\x01\x7f\x80\x01\xac\x02" + b"\xff" * 8 + b"\x7f"
    )
    with pytest.raises(ValueError, match="non-negative"):
        _varints(np.array([2**63], dtype=np.uint64))


def test_the_graph_is_a_valid_onnx_model() -> None:
    onnx = pytest.importorskip("onnx")
    with np.load(REVISER) as archive:
        arrays = dict(archive)
    model = onnx.ModelProto()
    model.ParseFromString(ensemble_model(_tree_scores(arrays).trees))
    onnx.checker.check_model(model, full_check=True)
    (node,) = model.graph.node
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    trees = len(arrays["m0.offsets"]) - 1
    assert (node.op_type, node.domain, len(attributes["tree_roots"])) == (
        "TreeEnsemble",
        "ai.onnx.ml",
        trees + 1,
    )
    weights = onnx.numpy_helper.to_array(attributes["leaf_weights"])
    assert weights[0] == arrays["m0.baseline"]  # the baseline is the first tree, so the sum starts there
    assert len(weights) == 1 + arrays["m0.is_leaf"].sum()


def test_the_shipped_reviser_gives_the_same_sums_to_the_bit() -> None:
    scores = _tree_scores(dict(np.load(REVISER)))
    rows = np.random.default_rng(0).normal(0, 2, size=(ONNX_MIN_ROWS, scores.trees.n_features))
    rows[:, 0] = np.round(rows[:, 0], 1)
    np.testing.assert_array_equal(
        OnnxTrees(ensemble_model(scores.trees)).decision(rows), _numpy_walk(scores, rows)
    )


@pytest.mark.parametrize("missing", [0.0, 0.1])
def test_fitted_trees_with_missing_values_and_ties_give_the_same_sums(missing: float) -> None:
    arrays, probe = _fitted_trees(3, missing)
    scores = _tree_scores(arrays)
    np.testing.assert_array_equal(
        OnnxTrees(ensemble_model(_tree_scores(arrays).trees)).decision(probe), _numpy_walk(scores, probe)
    )


def test_a_tree_that_is_one_leaf_is_added_too() -> None:
    arrays, probe = _fitted_trees(5, 0.0)
    offsets = arrays["m0.offsets"]
    # The second tree replaced by a single leaf: its nodes dropped, its root made a leaf.
    first, second = offsets[1], offsets[2]
    keep = np.r_[0:first, first, second : offsets[-1]]
    for field in FIELDS[1:]:
        arrays[f"m0.{field}"] = arrays[f"m0.{field}"][keep].copy()
    arrays["m0.is_leaf"][first] = True
    arrays["m0.value"][first] = 0.25
    arrays["m0.offsets"] = np.r_[offsets[:2], first + 1, offsets[3:] - (second - first - 1)]
    scores = _tree_scores(arrays)
    got = OnnxTrees(ensemble_model(_tree_scores(arrays).trees)).decision(probe)
    np.testing.assert_array_equal(got, _numpy_walk(scores, probe))


def test_large_batches_run_on_onnxruntime_small_ones_in_numpy() -> None:
    arrays, probe = _fitted_trees(7, 0.05)
    scores = _tree_scores(arrays)
    small = scores.decision(probe[:100])
    assert scores._onnx is None
    large = scores.decision(np.tile(probe, (2, 1))[:ONNX_MIN_ROWS])
    assert scores._onnx is not None
    np.testing.assert_array_equal(large, _numpy_walk(scores, np.tile(probe, (2, 1))[:ONNX_MIN_ROWS]))
    np.testing.assert_array_equal(scores.decision(probe[:100]), small)  # once built, used for all
    assert scores.decision(probe[:0]).shape == (0,)


def test_a_pickled_head_builds_its_own_session() -> None:
    arrays, probe = _fitted_trees(7, 0.0)
    head = head_from_arrays(arrays)
    expected = head.predict_proba(probe)
    assert head.members[0][0]._onnx is not None  # type: ignore[union-attr]
    copy = pickle.loads(pickle.dumps(head))
    assert copy.members[0][0]._onnx is None  # type: ignore[union-attr]
    np.testing.assert_array_equal(copy.predict_proba(probe), expected)


def test_without_onnxruntime_the_numpy_walk_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    arrays, probe = _fitted_trees(9, 0.0)
    scores = _tree_scores(arrays)
    got = scores.decision(probe)
    assert scores._onnx is None and scores._onnx_unavailable
    np.testing.assert_array_equal(got, _numpy_walk(scores, probe))


def test_probabilities_on_many_rows_equal_scikit_learn_s() -> None:
    """Through onnxruntime, the shipped reviser still gives its scikit-learn estimator's probabilities."""
    estimator = load_skops_head(REVISER.parent, "reviser")
    head = load_numpy_head(REVISER)
    rows = np.random.default_rng(1).normal(0, 2, size=(2 * ONNX_MIN_ROWS, head.n_features))
    got = head.predict_proba(rows)
    assert head.members[0][0]._onnx is not None  # type: ignore[union-attr]
    np.testing.assert_allclose(got, estimator.predict_proba(rows), rtol=0, atol=1e-12)


def test_an_onnxruntime_that_refuses_the_graph_leaves_the_numpy_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(model: bytes) -> None:
        raise RuntimeError("NOT_IMPLEMENTED : Could not find an implementation for TreeEnsemble(5)")

    monkeypatch.setattr(numpy_heads, "OnnxTrees", refuse)
    arrays, probe = _fitted_trees(9, 0.0)
    scores = _tree_scores(arrays)
    with pytest.warns(RuntimeWarning, match="numpy walks them: NOT_IMPLEMENTED"):
        got = scores.decision(probe)
    np.testing.assert_array_equal(got, _numpy_walk(scores, probe))
    assert scores._onnx_unavailable  # asked once, not on every batch


def _child_decision(scores: TreeScores, rows: np.ndarray, results: Any) -> None:
    inherited = scores._onnx is not None and scores._onnx_process != os.getpid()
    decision = scores.decision(rows)
    results.put((decision, inherited, scores._onnx_process == os.getpid()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_a_forked_child_builds_its_own_session() -> None:
    """A forked child inherits the parent's session object (not pickled) and does not use it."""
    arrays, probe = _fitted_trees(11, 0.0)
    scores = _tree_scores(arrays)
    expected = scores.decision(probe)
    assert scores._onnx is not None
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_child_decision, args=(scores, probe, results))
    child.start()
    got, inherited, own_session = results.get(timeout=120)
    child.join(timeout=120)
    assert child.exitcode == 0 and inherited and own_session
    np.testing.assert_array_equal(got, expected)

"""A fitted tree ensemble run by onnxruntime: one `TreeEnsemble` graph built from the head's arrays.

The numpy walk (`numpy_heads.TreeScores`) costs ~15 µs a row for the shipped reviser's 200
trees, a sixth of a full page's time; onnxruntime's `TreeEnsemble` operator walks each row in
C++, ~5x faster, and gives the same sums bit for bit: splits and leaf values are float64, a value
`<=` the split takes the true branch as scikit-learn's goes left, a missing value takes the branch
scikit-learn learned, and the trees are added one after another onto the baseline, which is the
graph's first tree (one leaf) so that the sum starts where scikit-learn's does.

The graph is built in memory from arrays `numpy_heads` has already checked and written as
protobuf by the few lines below (the `onnx` package is not needed): nothing in a model folder is
handed to onnxruntime as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 5  # the opset of `TreeEnsemble` (onnxruntime >= 1.20)
ONNX_OPSET = 21
IR_VERSION = 10
INPUT, OUTPUT = "X", "Y"
# onnx.proto's enums: TensorProto.DataType and AttributeProto.AttributeType.
_UINT8, _DOUBLE = 2, 11
_INT, _TENSOR, _INTS = 2, 4, 7
_BRANCH_LEQ = 0  # TreeEnsemble's node mode for `x <= split`
_SUM = 1  # TreeEnsemble's aggregate function


@dataclass(frozen=True)
class TreeArrays:
    """A fitted binary tree ensemble as scikit-learn's histogram gradient boosting stores it.

    Attributes:
        baseline: The ensemble's starting raw prediction.
        offsets: (n_trees + 1,) nodes `offsets[t]:offsets[t + 1]` are tree t, its root first.
        feature, threshold, missing_left, is_leaf, value: (n_nodes,) scikit-learn's node fields
            (`feature_idx`, `num_threshold`, `missing_go_to_left`, `is_leaf`, `value`).
        left, right: (n_nodes,) children as indices within their own tree, as scikit-learn stores them.
        n_features: Width of the rows the trees read.
    """

    baseline: float
    offsets: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    is_leaf: np.ndarray
    value: np.ndarray
    left: np.ndarray
    right: np.ndarray
    n_features: int


class OnnxTrees:
    """An onnxruntime session over `ensemble_model(...)`, one thread (parallelism comes from workers).

    Raises:
        ImportError: onnxruntime is not installed.
    """

    def __init__(self, model: bytes) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: onnxruntime's notices stay off the commands' stderr
        self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def decision(self, features: np.ndarray) -> np.ndarray:
        """Shape (n_rows,): baseline plus every tree's leaf for each row of float64 `features`."""
        return np.asarray(self.session.run(None, {INPUT: features})[0]).reshape(-1)


def ensemble_model(trees: TreeArrays) -> bytes:
    """A serialised ONNX model computing `numpy_heads.TreeScores.decision` for `trees`.

    The operator keeps split nodes and leaves in separate lists, and every tree starts at a split
    node; a tree that is a single leaf (the baseline's included) gets a split whose two branches
    are that leaf.
    """
    leaf = trees.is_leaf.astype(bool)
    offsets = trees.offsets
    starts = np.repeat(offsets[:-1], np.diff(offsets))
    roots = offsets[:-1].astype(np.int64)
    single = leaf[roots]
    internal = ~leaf
    # Split nodes: the baseline's (0), every tree's internal nodes in order, then one per
    # single-leaf tree. Leaves: the baseline (0), then every tree's leaves in order. So the k-th
    # internal node (k from 1) is split node k, and the k-th leaf is leaf k.
    split_index = np.cumsum(internal)
    leaf_index = np.cumsum(leaf)
    n_internal = int(internal.sum())
    stump_nodes = roots[single]
    tree_roots = split_index[roots]
    tree_roots[single] = 1 + n_internal + np.arange(stump_nodes.size)

    def branch(child_local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        child = (starts + child_local)[internal]
        is_leaf_child = leaf[child]
        return is_leaf_child.astype(np.int64), np.where(is_leaf_child, leaf_index[child], split_index[child])

    true_leafs, true_ids = branch(trees.left)
    false_leafs, false_ids = branch(trees.right)
    ones, zeros = np.ones(1 + stump_nodes.size, dtype=np.int64), np.zeros(1 + stump_nodes.size, np.int64)
    stump_leaves = np.concatenate([[0], leaf_index[stump_nodes]])

    def nodes(first: np.ndarray, middle: np.ndarray) -> np.ndarray:
        """The baseline's split node, the internal nodes, the single-leaf trees' split nodes."""
        return np.concatenate([first[:1], middle, first[1:]])

    attributes = [
        _int_attribute("aggregate_function", _SUM),
        _int_attribute("n_targets", 1),
        _int_attribute("post_transform", 0),
        _ints_attribute("tree_roots", np.concatenate([[0], tree_roots])),
        _ints_attribute("nodes_featureids", nodes(zeros, trees.feature[internal])),
        _tensor_attribute(
            "nodes_splits", nodes(zeros.astype(np.float64), trees.threshold[internal]), _DOUBLE
        ),
        _tensor_attribute("nodes_modes", np.full(len(ones) + n_internal, _BRANCH_LEQ, np.uint8), _UINT8),
        _ints_attribute("nodes_missing_value_tracks_true", nodes(zeros, trees.missing_left[internal])),
        _ints_attribute("nodes_trueleafs", nodes(ones, true_leafs)),
        _ints_attribute("nodes_truenodeids", nodes(stump_leaves, true_ids)),
        _ints_attribute("nodes_falseleafs", nodes(ones, false_leafs)),
        _ints_attribute("nodes_falsenodeids", nodes(stump_leaves, false_ids)),
        _ints_attribute("leaf_targetids", np.zeros(1 + int(leaf.sum()), np.int64)),
        _tensor_attribute("leaf_weights", np.concatenate([[trees.baseline], trees.value[leaf]]), _DOUBLE),
    ]
    node = b"".join(
        [
            _string(1, INPUT),
            _string(2, OUTPUT),
            _string(4, "TreeEnsemble"),
            _string(7, ML_DOMAIN),
            *(_message(5, attribute) for attribute in attributes),
        ]
    )
    graph = b"".join(
        [
            _message(1, node),
            _string(2, "trees"),
            _message(11, _value_info(INPUT, trees.n_features)),
            _message(12, _value_info(OUTPUT, 1)),
        ]
    )
    return b"".join(
        [
            _integer(1, IR_VERSION),
            _string(2, "storysplit"),
            _message(7, graph),
            _message(8, _string(1, "") + _integer(2, ONNX_OPSET)),
            _message(8, _string(1, ML_DOMAIN) + _integer(2, ML_OPSET)),
        ]
    )


# Protobuf, as onnx.proto lays out the messages above (field numbers in the calls).


def _varints(values: np.ndarray) -> bytes:
    """Non-negative integers as protobuf varints: 7 bits a byte, low bits first, high bit = more."""
    values = np.asarray(values, dtype=np.uint64).reshape(-1)
    if values.size and int(values.max()) >= 1 << 63:
        raise ValueError("varints here are non-negative int64")
    shifts = np.arange(10, dtype=np.uint64) * np.uint64(7)
    groups = (values[:, None] >> shifts[None, :]) & np.uint64(0x7F)
    lengths = 1 + (values[:, None] >= (np.uint64(1) << shifts[1:])[None, :]).sum(axis=1)
    used = np.arange(10)[None, :] < lengths[:, None]
    more = np.arange(10)[None, :] < (lengths - 1)[:, None]
    return (groups | (more.astype(np.uint64) << np.uint64(7))).astype(np.uint8)[used].tobytes()


def _key(number: int, wire_type: int) -> bytes:
    return _varints(np.array([number << 3 | wire_type]))


def _integer(number: int, value: int) -> bytes:
    return _key(number, 0) + _varints(np.array([value]))


def _message(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _varints(np.array([len(payload)])) + payload


def _string(number: int, text: str) -> bytes:
    return _message(number, text.encode("utf-8"))


def _int_attribute(name: str, value: int) -> bytes:
    return _string(1, name) + _integer(3, value) + _integer(20, _INT)


def _ints_attribute(name: str, values: np.ndarray) -> bytes:
    return _string(1, name) + _message(8, _varints(values)) + _integer(20, _INTS)  # packed


def _tensor_attribute(name: str, values: np.ndarray, data_type: int) -> bytes:
    dtype = np.dtype("<f8") if data_type == _DOUBLE else np.dtype(np.uint8)
    tensor = (
        _message(1, _varints(np.array([len(values)])))
        + _integer(2, data_type)
        + _message(9, np.ascontiguousarray(values, dtype=dtype).tobytes())
    )
    return _string(1, name) + _message(5, tensor) + _integer(20, _TENSOR)


def _value_info(name: str, width: int) -> bytes:
    """A float64 tensor of shape (rows, width), rows left open."""
    shape = _message(1, _string(2, "rows")) + _message(1, _integer(1, width))
    tensor_type = _integer(1, _DOUBLE) + _message(2, shape)
    return _string(1, name) + _message(2, _message(1, tensor_type))

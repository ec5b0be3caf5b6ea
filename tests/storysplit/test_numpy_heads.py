"""The numpy heads give scikit-learn's probabilities, and refuse anything but their own arrays."""

from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from storysplit.artifact import load_head, load_skops_head, read_manifest
from storysplit.errors import ModelLoadError
from storysplit.features.context import SCALAR_WIDTH
from storysplit.features.revision import revision_matrix
from storysplit.numpy_heads import (
    TOLERANCE,
    NumpyHead,
    check_same_probabilities,
    head_arrays,
    head_from_arrays,
    save_head,
)
from storysplit.numpy_heads import load_head as load_numpy_head

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [REPO / "models" / "default"]


@pytest.fixture(autouse=True)
def _one_openmp_thread() -> Iterator[None]:
    """scikit-learn's tree fitting spins OpenMP threads; on a shared 2-core machine one fit took 9 s."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _data(seed: int, rows: int, width: int, dtype: type, missing: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose label depends on a few features, noisily, with some values missing."""
    random = np.random.default_rng(seed)
    x = random.normal(size=(rows, width)) * random.uniform(0.1, 10, size=width)
    y = ((x[:, 0] - 0.5 * x[:, 1] + random.normal(size=rows)) > 0).astype(np.int64)
    x[random.random(x.shape) < missing] = np.nan
    return x.astype(dtype), y


def _linear(seed: int) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression(C=0.5, random_state=seed))])


def _trees(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=15, max_leaf_nodes=15, early_stopping=False, random_state=seed
    )


def _fitted(base: str, calibration: str, seed: int, dtype: type) -> tuple[Any, np.ndarray]:
    """A head as train/fit.py builds it (fit, then calibrate the frozen head on other rows)."""
    missing = 0.05 if base == "trees" else 0.0
    x, y = _data(seed, 300, 6, dtype, missing)
    model: Any = {"linear": _linear, "trees": _trees, "bare": lambda s: LogisticRegression(random_state=s)}[
        base
    ](seed)
    model.fit(x[:200], y[:200])
    if calibration == "ensemble":
        # Several calibrated_classifiers_, each with its own fitted copy and calibrator.
        model = CalibratedClassifierCV(model, method="sigmoid", cv=3, ensemble=True).fit(x, y)
    elif calibration != "none":
        model = CalibratedClassifierCV(FrozenEstimator(model), method=calibration).fit(x[200:], y[200:])
    probe, _ = _data(seed + 1000, 400, 6, dtype, missing)
    return model, probe


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("calibration", ["none", "sigmoid", "isotonic", "ensemble"])
@pytest.mark.parametrize("base", ["linear", "trees", "bare"])
def test_probabilities_equal_scikit_learn(base: str, calibration: str, dtype: type, tmp_path: Path) -> None:
    model, probe = _fitted(base, calibration, 7, dtype)
    path = tmp_path / "head.npz"
    save_head(model, path)
    head = load_numpy_head(path)
    if calibration == "ensemble":
        assert len(head.members) == 3
    expected = model.predict_proba(probe)
    got = head.predict_proba(probe)
    assert got.shape == expected.shape == (len(probe), 2)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(got[:, 0] + got[:, 1], 1.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    base=st.sampled_from(["linear", "trees"]),
    calibration=st.sampled_from(["none", "sigmoid", "isotonic"]),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
)
def test_probabilities_equal_scikit_learn_on_any_rows(
    seed: int, base: str, calibration: str, scale: float
) -> None:
    model, probe = _fitted(base, calibration, seed, np.float64)
    probe = probe * scale  # far outside the training range too: clipping, extreme logits, deep paths
    head = head_from_arrays(head_arrays(model))
    np.testing.assert_allclose(head.predict_proba(probe), model.predict_proba(probe), rtol=0, atol=TOLERANCE)


def test_missing_values_follow_each_node_s_learned_direction() -> None:
    model, probe = _fitted("trees", "none", 3, np.float64)
    nodes = np.concatenate([p[0].nodes for p in model._predictors])
    internal = nodes["is_leaf"] == 0
    assert set(nodes["missing_go_to_left"][internal]) == {0, 1}  # both directions are exercised
    probe[:, :] = np.where(np.random.default_rng(0).random(probe.shape) < 0.5, np.nan, probe)
    head = head_from_arrays(head_arrays(model))
    np.testing.assert_allclose(head.predict_proba(probe), model.predict_proba(probe), rtol=0, atol=TOLERANCE)


def test_values_equal_to_a_threshold_go_left() -> None:
    """`x <= threshold` goes left: probe with every feature set to thresholds the trees split at."""
    x, y = _data(11, 300, 3, np.float64, 0.0)
    x = np.round(x)  # few distinct values, so that many rows fall on the bin edges
    model = _trees(11).fit(x, y)
    nodes = np.concatenate([p[0].nodes for p in model._predictors])
    internal = nodes[nodes["is_leaf"] == 0]
    random = np.random.default_rng(0)
    probe = np.empty((500, 3))
    for feature in range(3):
        at = internal["num_threshold"][internal["feature_idx"] == feature]
        probe[:, feature] = random.choice(at, size=len(probe)) if len(at) else 0.0
    head = head_from_arrays(head_arrays(model))
    np.testing.assert_allclose(head.predict_proba(probe), model.predict_proba(probe), rtol=0, atol=TOLERANCE)


def test_many_rows_and_an_empty_batch() -> None:
    model, probe = _fitted("trees", "sigmoid", 5, np.float64)
    head = head_from_arrays(head_arrays(model))
    many = np.tile(probe, (4, 1))  # more rows than one walk takes at once
    np.testing.assert_allclose(head.predict_proba(many), model.predict_proba(many), rtol=0, atol=TOLERANCE)
    assert head.predict_proba(np.zeros((0, 6))).shape == (0, 2)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_linear_head_refuses_missing_values_as_scikit_learn_does(value: float) -> None:
    model, probe = _fitted("linear", "sigmoid", 1, np.float64)
    probe[3, 0] = value
    arrays = head_arrays(model)
    head = head_from_arrays(arrays)
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        model.predict_proba(probe)
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        head.predict_proba(probe)
    weights = next(name for name in arrays if name.endswith("coef"))
    arrays[weights][..., 0] = 0.0  # a weight of zero does not hide it
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        head_from_arrays(arrays).predict_proba(probe)


def test_wrong_width_is_refused() -> None:
    head = head_from_arrays(head_arrays(_fitted("linear", "none", 1, np.float64)[0]))
    with pytest.raises(ValueError, match=r"shape \(n, 6\)"):
        head.predict_proba(np.zeros((3, 5)))


def test_unsupported_estimators_are_named() -> None:
    x, y = _data(0, 100, 4, np.float64, 0.0)
    with pytest.raises(TypeError, match="no numpy predictor for RandomForestClassifier"):
        head_arrays(RandomForestClassifier(n_estimators=2).fit(x, y))
    with pytest.raises(TypeError, match=r"classes \[0, 1, 2\]|only \[0, 1\]"):
        head_arrays(LogisticRegression().fit(x, y + (x[:, 2] > 1)))
    categorical = x.copy()
    categorical[:, 3] = np.arange(len(x)) % 3
    hgb = HistGradientBoostingClassifier(max_iter=3, categorical_features=[3]).fit(categorical, y)
    with pytest.raises(TypeError, match="categorical"):
        head_arrays(hgb)


def test_the_equivalence_check_can_fail() -> None:
    model, _ = _fitted("trees", "sigmoid", 2, np.float64)
    arrays = head_arrays(model)
    assert check_same_probabilities(model, arrays) <= TOLERANCE
    arrays["m0.value"] = arrays["m0.value"] * 1.01
    with pytest.raises(ValueError, match="differs from CalibratedClassifierCV"):
        check_same_probabilities(model, arrays)


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_numpy_heads_equal_their_skops_heads(folder: Path) -> None:
    manifest = read_manifest(folder)
    for name in ("head", "reviser"):
        estimator = load_skops_head(folder, name)
        head = load_head(folder, name, manifest)
        width = head.n_features
        rows = np.random.default_rng(0).normal(0, 2, size=(500, width))
        np.testing.assert_allclose(
            head.predict_proba(rows), estimator.predict_proba(rows), rtol=0, atol=TOLERANCE
        )


def test_shipped_default_heads_on_the_seed_documents(seed_rows: list[dict[str, Any]]) -> None:
    """Both stages on real feature rows, float32 as featurising gives them."""
    from storysplit import load_model

    folder = SHIPPED[0]
    model = load_model(folder)
    assert isinstance(model.head, NumpyHead) and isinstance(model.reviser, NumpyHead)
    batch = model.featurize([r["text"] for r in seed_rows])
    assert batch.features.dtype == np.float32 and len(batch.features) > 100
    head, reviser = load_skops_head(folder, "head"), load_skops_head(folder, "reviser")
    first = head.predict_proba(batch.features)[:, 1]
    np.testing.assert_allclose(model.head.predict_proba(batch.features)[:, 1], first, rtol=0, atol=TOLERANCE)
    revised = revision_matrix(
        batch.features, np.asarray(first, dtype=np.float64), batch.offsets, SCALAR_WIDTH
    )
    expected = reviser.predict_proba(revised)[:, 1]
    np.testing.assert_allclose(
        model.head_probabilities(batch.features, batch.offsets), expected, atol=TOLERANCE
    )


# --- refusals -----------------------------------------------------------------------------------


def _valid_arrays() -> dict[str, np.ndarray]:
    return head_arrays(_fitted("trees", "isotonic", 4, np.float64)[0])


def _npz(arrays: dict[str, Any], allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=allow_pickle)
    return buffer.getvalue()


class _Payload:
    """Unpickling this creates `marker`: proof that a loader unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_an_object_array_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    path = tmp_path / "head.npz"
    arrays: dict[str, Any] = _valid_arrays()
    arrays["m0.value"] = np.array([_Payload(marker)], dtype=object)
    path.write_bytes(_npz(arrays, allow_pickle=True))
    with pytest.raises(ModelLoadError, match="corrupt or not a numpy head"):
        load_numpy_head(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps(_Payload(marker)))  # a bare pickle under the head's name
    with pytest.raises(ModelLoadError, match="corrupt or not a numpy head"):
        load_numpy_head(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(extra=np.zeros(3)), r"unexpected arrays \['extra'\]"),
        (lambda a: a.pop("m0.threshold"), "'m0.threshold' is missing"),
        (lambda a: a.update({"format": np.array("something-else")}), "expected format"),
        (lambda a: a.update({"m0.model": np.array("forest")}), "m0.model is 'forest'"),
        (lambda a: a.update({"m0.calibration": np.array("temperature")}), "m0.calibration is 'temperature'"),
        (lambda a: a.update({"m0.value": a["m0.value"].astype(np.int64)}), "'m0.value' has dtype int64"),
        (lambda a: a.update({"m0.value": a["m0.value"][:-1]}), "'m0.value' has shape"),
        (lambda a: a.update({"m0.left": np.zeros_like(a["m0.left"])}), "not below its parent"),
        (lambda a: a.update({"m0.right": a["m0.right"] + 10_000}), "outside its tree"),
        (lambda a: a.update({"m0.feature": a["m0.feature"] + 100}), "feature holds indices outside"),
        (lambda a: a.update({"m0.baseline": np.array(np.nan)}), "holds NaN"),
        (lambda a: a.update({"m0.x": a["m0.x"][::-1].copy()}), "increasing"),
        (lambda a: a.update(members=np.array(2)), "'m1.model' is missing"),
    ],
)
def test_malformed_arrays_are_refused(tmp_path: Path, change: Any, message: str) -> None:
    arrays = _valid_arrays()
    change(arrays)
    path = tmp_path / "head.npz"
    path.write_bytes(_npz(arrays))
    with pytest.raises(ModelLoadError, match=message):
        load_numpy_head(path)


def test_valid_arrays_written_by_hand_load(tmp_path: Path) -> None:
    """The refusal tests' writer makes loadable files, so what they refuse is the change alone."""
    path = tmp_path / "head.npz"
    path.write_bytes(_npz(_valid_arrays()))
    assert isinstance(load_numpy_head(path), NumpyHead)

from __future__ import annotations

import numpy as np

from storysplit.features.revision import REVISION_FEATURES, revision_features, revision_matrix


def _features(p: np.ndarray) -> np.ndarray:
    embeddings = np.tile(np.eye(4)[0], (len(p), 1))
    return revision_features(p, embeddings)


def _column(rows: np.ndarray, name: str) -> np.ndarray:
    return rows[:, REVISION_FEATURES.index(name)]


def test_shapes_and_finiteness() -> None:
    rows = _features(np.array([0.0, 1.0, 0.5]))
    assert rows.shape == (3, len(REVISION_FEATURES)) and np.isfinite(rows).all()
    assert revision_features(np.array([]), np.zeros((0, 4))).shape == (0, len(REVISION_FEATURES))


def test_longest_run_and_distance_to_confident_main() -> None:
    p = np.array([0.1, 0.9, 0.95, 0.2, 0.9, 0.1, 0.1])
    rows = _features(p)
    assert _column(rows, "in_longest_main_run").tolist() == [0, 1, 1, 0, 0, 0, 0]
    distances = np.round(_column(rows, "distance_to_confident_main") * len(p)).tolist()
    assert distances == [1, 0, 0, 1, 0, 1, 2]


def test_window_means_and_neighbours() -> None:
    rows = _features(np.array([0.2, 0.4, 0.6]))
    np.testing.assert_allclose(_column(rows, "mean_p_window_1"), [0.3, 0.4, 0.5])
    np.testing.assert_allclose(_column(rows, "p_prev"), [0.0, 0.2, 0.4])
    np.testing.assert_allclose(_column(rows, "p_next"), [0.4, 0.6, 0.0])


def test_matrix_keeps_documents_apart_and_appends_scalars() -> None:
    features = np.arange(5 * 6, dtype=np.float64).reshape(5, 6) / 30
    p = np.array([0.9, 0.9, 0.1, 0.1, 0.1])
    matrix = revision_matrix(features, p, np.array([0, 2, 5]), scalar_columns=2)
    assert matrix.shape == (5, len(REVISION_FEATURES) + 2)
    np.testing.assert_array_equal(matrix[:, -2:], features[:, -2:])
    doc_mean = matrix[:, REVISION_FEATURES.index("doc_mean_p")]
    np.testing.assert_allclose(doc_mean, [0.9, 0.9, 0.1, 0.1, 0.1])


def test_early_story_centroid_separates_an_appended_other_story() -> None:
    story, other = np.eye(3)[0], np.eye(3)[1]
    embeddings = np.array([story, story, story, other, other, other, other])
    p = np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])
    rows = revision_features(p, embeddings)
    early = _column(rows, "cos_early_main_centroid")
    assert early[:3].min() > early[3:].max()


def test_breaks_count_boilerplate_stretches_after_the_first_kept_block() -> None:
    p = np.array([0.1, 0.9, 0.9, 0.1, 0.1, 0.1, 0.9, 0.1, 0.9])
    rows = _features(p)
    breaks = np.round(np.expm1(_column(rows, "log_longest_break_before"))).tolist()
    assert breaks == [0, 0, 0, 0, 1, 2, 3, 3, 3]
    assert _column(rows, "kept_runs_before").tolist() == [0, 0, 1, 1, 1, 1, 1, 2, 2]

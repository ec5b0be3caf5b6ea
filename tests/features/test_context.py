from __future__ import annotations

import numpy as np
import pytest

from storysplit.features import context
from storysplit.features.context import (
    ALL_PAIRS_SEGMENTS,
    CONTEXT_FEATURES,
    SHAPE_FEATURES,
    SIMILARITY_WINDOW,
    _max_similarities,
    _similarity_blocks,
    document_features,
    feature_names,
)
from storysplit.features.encoders import HashingEncoder
from storysplit.features.segmentation import split_document
from storysplit.features.site_evidence import SITE_FEATURES

DOC = """Big story headline

The first paragraph of the story explains what happened in some detail today.

The second paragraph of the story adds quotes and more context for readers.

Latest
Most Viewed
The first paragraph of the story explains what happened in some detail today.
"""


def _features(text: str) -> tuple[list[str], np.ndarray]:
    segments = split_document(text)
    embeddings = HashingEncoder(32).encode([s.text for s in segments])
    return [s.text for s in segments], document_features(text, segments, embeddings, window=1)


def _column(matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, feature_names(32).index(name)]


def test_row_width_matches_names() -> None:
    texts, matrix = _features(DOC)
    assert matrix.shape == (len(texts), len(feature_names(32)))
    assert len(feature_names(32)) == 32 + len(SHAPE_FEATURES) + len(CONTEXT_FEATURES) + len(SITE_FEATURES)
    assert matrix.dtype == np.float32 and np.isfinite(matrix).all()
    assert not matrix[:, -len(SITE_FEATURES) :].any()  # a page on its own: no site evidence


def test_repeat_of_a_story_paragraph_is_flagged_only_on_the_second_copy() -> None:
    _, matrix = _features(DOC)
    repeats = _column(matrix, "exact_repeat_earlier")
    assert repeats.tolist() == [0, 0, 0, 0, 0, 1]
    assert _column(matrix, "exact_repeat_later").tolist() == [0, 1, 0, 0, 0, 0]


def test_blank_line_gaps_and_short_runs() -> None:
    _, matrix = _features(DOC)
    gaps = np.expm1(_column(matrix, "log_gap_before")).round().tolist()
    assert gaps == [0, 2, 2, 2, 1, 1]
    runs = np.expm1(_column(matrix, "log_short_run")).round().tolist()
    assert runs == [1, 0, 0, 2, 2, 0]


def test_crlf_and_cr_count_as_one_line_break_each() -> None:
    for newline in ("\r\n", "\r"):
        _, matrix = _features(DOC.replace("\n", newline))
        assert np.expm1(_column(matrix, "log_gap_before")).round().tolist() == [0, 2, 2, 2, 1, 1]
        assert np.expm1(_column(matrix, "log_gap_after")).round().tolist() == [2, 2, 2, 1, 1, 1]


def test_empty_and_single_segment_documents() -> None:
    assert document_features("", [], np.zeros((0, 8), dtype=np.float32)).shape[0] == 0
    text = "only one line"
    segments = split_document(text)
    matrix = document_features(text, segments, HashingEncoder(8).encode([text]))
    assert matrix.shape[0] == 1 and np.isfinite(matrix).all()


def _unit_rows(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    rows[n // 3] = rows[n // 5]  # an exact repeat
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _reference_max_similarities(embeddings: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Highest cosine to another row and to an earlier row at most `window` rows away (-1 if none)."""
    sims = embeddings.astype(np.float64) @ embeddings.T.astype(np.float64)
    row, column = np.indices(sims.shape)
    near = np.abs(row - column) <= window
    other = np.where(near & (row != column), sims, -np.inf).max(axis=1)
    earlier = np.where(near & (column < row), sims, -np.inf).max(axis=1)
    return np.where(np.isinf(other), -1.0, other), np.maximum(earlier, -1.0)


@pytest.mark.parametrize("n", [1, 2, 5, 1024, 1025, 2600])
def test_documents_up_to_the_bound_compare_every_pair(n: int) -> None:
    embeddings = _unit_rows(n)
    other, earlier = _max_similarities(embeddings)
    expected_other, expected_earlier = _reference_max_similarities(embeddings, n)
    np.testing.assert_allclose(other, expected_other, atol=1e-6)
    np.testing.assert_allclose(earlier, expected_earlier, atol=1e-6)
    assert all((first, last) == (0, n) for _, _, first, last in _similarity_blocks(n, n))


@pytest.mark.parametrize("window", [7, 300, 1500])
def test_longer_documents_compare_each_segment_with_a_window_of_neighbours(
    monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    monkeypatch.setattr(context, "ALL_PAIRS_SEGMENTS", 1000)
    monkeypatch.setattr(context, "SIMILARITY_WINDOW", window)
    embeddings = _unit_rows(2600)
    other, earlier = _max_similarities(embeddings)
    expected_other, expected_earlier = _reference_max_similarities(embeddings, window)
    np.testing.assert_allclose(other, expected_other, atol=1e-6)
    np.testing.assert_allclose(earlier, expected_earlier, atol=1e-6)


def test_a_repeat_beyond_the_window_is_not_seen_in_a_long_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context, "ALL_PAIRS_SEGMENTS", 100)
    monkeypatch.setattr(context, "SIMILARITY_WINDOW", 10)
    embeddings = _unit_rows(200)
    embeddings[150] = embeddings[120]  # 30 rows apart
    embeddings[60] = embeddings[55]  # 5 rows apart
    other, earlier = _max_similarities(embeddings)
    assert earlier[60] == pytest.approx(1.0) and other[55] == pytest.approx(1.0)
    assert earlier[150] < 0.99 and other[120] < 0.99


def test_compared_pairs_grow_linearly_beyond_the_bound() -> None:
    def pairs(n: int) -> int:
        window = n if n <= ALL_PAIRS_SEGMENTS else SIMILARITY_WINDOW
        return sum(
            (stop - start) * (last - first) for start, stop, first, last in _similarity_blocks(n, window)
        )

    assert pairs(ALL_PAIRS_SEGMENTS) == ALL_PAIRS_SEGMENTS**2
    for n in (ALL_PAIRS_SEGMENTS + 1, 10 * ALL_PAIRS_SEGMENTS):
        assert pairs(n) <= n * (context._SIMILARITY_BLOCK + 2 * SIMILARITY_WINDOW)

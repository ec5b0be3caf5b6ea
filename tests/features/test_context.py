from __future__ import annotations

import numpy as np

from storysplit.features.context import (
    CONTEXT_FEATURES,
    SHAPE_FEATURES,
    document_features,
    feature_names,
)
from storysplit.features.encoders import HashingEncoder
from storysplit.features.segmentation import split_document

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
    assert matrix.shape == (len(texts), 2 * 32 + len(SHAPE_FEATURES) + len(CONTEXT_FEATURES))
    assert matrix.dtype == np.float32 and np.isfinite(matrix).all()


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

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storysplit.features.segmentation import best_overlaps, encodable_text, split_document
from tests.hostile import hostile_texts
from tests.invariants import check_split

HOSTILE = [
    "",
    "   \n\t\r\n  ",
    "one line without newline",
    "crlf\r\nline two\r\n\r\nthree",
    "cr only\rsecond\rthird",
    "tabs\there\t\n\t indented\t",
    "emoji 😀 line\nمرحبا بالعالم\nবাংলা লেখা\n日本語の文です。",
    "nbsp\u00a0line\u00a0\n\u2028para sep\u2029next",
    "x" * 5000,
    "Sentence one is here. " * 300,
    "lone \ud800 surrogate " * 100,
    "Sentence with a NUL\x00 in it. " * 100,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_offsets_round_trip_on_hostile_text(text: str) -> None:
    check_split(text, 1000)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=20, max_value=200))
def test_offsets_round_trip_on_any_text(text: str, max_chars: int) -> None:
    check_split(text, max_chars)


@settings(max_examples=300, deadline=None)
@given(hostile_texts(), st.integers(1, 40))
def test_offsets_round_trip_on_hostile_pieces(text: str, max_chars: int) -> None:
    check_split(text, max_chars)


def test_nul_in_a_long_line_loses_no_text() -> None:
    # blingfire returned one 1-character span for "\x00\x00"; the second NUL was dropped.
    assert [(s.start, s.end) for s in split_document("\x00\x00", max_chars=1)] == [(0, 1), (1, 2)]
    text = "ab. \x00\x00 cd."
    assert [s.text for s in split_document(text, max_chars=5)] == ["ab.", "\x00\x00", "cd."]


def test_encodable_text_replaces_only_lone_surrogates() -> None:
    assert encodable_text("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert encodable_text("emoji 😀 stays") == "emoji 😀 stays"
    assert split_document("x \ud800 " * 20, max_chars=10)[0].text == "x \ud800 x \ud800 x"


def test_lines_become_segments_and_blank_lines_vanish() -> None:
    text = "Title\r\n\r\n  Body line one.  \n\nLast"
    assert [s.text for s in split_document(text)] == ["Title", "Body line one.", "Last"]


def test_text_without_newlines_is_split_into_sentences() -> None:
    text = " ".join(f"This is sentence number {i} of a long page." for i in range(60))
    segments = split_document(text, max_chars=200)
    assert len(segments) == 60
    assert segments[1].text == "This is sentence number 1 of a long page."


def test_rejects_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        split_document("text", max_chars=0)


def test_best_overlaps_projects_spans_onto_other_segments() -> None:
    text = "First line here. Second sentence there.\nShort\n\nLast line"
    segments = split_document(text, max_chars=25)
    assert [s.text for s in segments] == ["First line here.", "Second sentence there.", "Short", "Last line"]
    spans = [(0, 39), (40, 45), (47, 56)]
    assert best_overlaps(spans, segments) == [0, 0, 1, 2]
    assert best_overlaps([], segments) == [None] * 4
    assert best_overlaps([(40, 45)], segments) == [None, None, 0, None]

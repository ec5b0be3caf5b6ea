from __future__ import annotations

from typing import Any

import blingfire
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from storysplit.features import segmentation
from storysplit.features.segmentation import (
    _blingfire_sentences,
    _trimmed_bounds,
    best_overlaps,
    encodable_text,
    split_document,
)
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


class _CountingText(str):
    """A text that counts the characters read out of it by indexing and slicing."""

    read = 0

    def __getitem__(self, key: Any) -> str:
        part = super().__getitem__(key)
        _CountingText.read += len(part)
        return part


def test_cutting_a_long_sentence_reads_each_character_a_few_times() -> None:
    # Trimming copied the whole rest of the sentence after every cut: quadratic in its length.
    text = _CountingText("word " * 200_000)
    _CountingText.read = 0
    segments = split_document(text, max_chars=1000)
    assert len(segments) == 1000 and segments[-1].end == len(text) - 1
    assert _CountingText.read <= 4 * len(text)


_SPACED = st.text(alphabet=st.sampled_from(" \t\u00a0\u3000\u2028x."), max_size=400)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_SPACED, hostile_texts()), st.data())
def test_trimmed_bounds_are_those_of_strip(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    chunk = text[start:end]
    trimmed_start = start + len(chunk) - len(chunk.lstrip())
    assert _trimmed_bounds(text, start, end) == (trimmed_start, trimmed_start + len(chunk.strip()))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00")))
@example("\xa0 ")  # no sentence: blingfire gives zero offsets, the end inside "\xa0"
def test_sentence_offsets_are_blingfires_own(line: str) -> None:
    try:
        _, expected = blingfire.text_to_sentences_and_offsets(line)
    except AssertionError:  # its own byte-to-character mapping gives up on a few texts
        return
    assert _blingfire_sentences(line) == expected


def test_a_line_longer_than_blingfire_reads_at_once_goes_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    text = " ".join(f"This is sentence number {i} of a page flattened into one line." for i in range(400))
    whole = split_document(text, max_chars=200)
    read: list[int] = []

    def recording(line: str) -> list[tuple[int, int]]:
        read.append(len(line))
        return _blingfire_sentences(line)

    monkeypatch.setattr(segmentation, "_blingfire_sentences", recording)
    monkeypatch.setattr(segmentation, "BLINGFIRE_CHARS", 1000)
    assert split_document(text, max_chars=200) == whole
    assert len(read) > len(text) // 1000 and max(read) <= 1000
    check_split(text, 200)
    check_split("x" * 5000 + " y." * 10, 300)  # pieces holding one sentence, or part of one


def test_lines_up_to_the_limit_go_to_blingfire_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[int] = []

    def recording(line: str) -> list[tuple[int, int]]:
        read.append(len(line))
        return _blingfire_sentences(line)

    monkeypatch.setattr(segmentation, "_blingfire_sentences", recording)
    monkeypatch.setattr(segmentation, "BLINGFIRE_CHARS", 3000)
    split_document("A sentence here. " * 176, max_chars=100)  # 2,991 characters after trimming
    assert read == [2991]

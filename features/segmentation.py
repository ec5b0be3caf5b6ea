"""Split a plain-text document into segments with character offsets into the original text.

A segment is a non-blank line with its surrounding whitespace trimmed. A line longer than
`max_chars` (which includes a whole document with no newlines) is split into sentences with
blingfire, and a sentence still longer than `max_chars` is cut at whitespace. Offsets always
index the text exactly as given (CRLF, CR, tabs, non-ASCII and emoji included), so
`text[s.start:s.end] == s.text` holds for every segment.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_MAX_CHARS = 1000
# The characters `str.splitlines` breaks lines at: two segments with one between are on two lines.
LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_TRIM_SLICE = 64
BLINGFIRE_CHARS = 1_000_000
"""Longest stretch of a line the sentence splitter reads at once (see `_sentence_spans`)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A span of the document: `text == document[start:end]`, never blank."""

    start: int
    end: int
    text: str


def split_document(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[Segment]:
    """Segments of `text` in document order.

    Args:
        text: The document as a `str` (decoding is the caller's job).
        max_chars: Lines longer than this are split into sentences, then at whitespace.

    Returns:
        Non-overlapping, ordered segments whose offsets index `text`.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    segments: list[Segment] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()  # whitespace as `str.isspace` has it, as `_trimmed_bounds`
        if stripped:
            start = offset + len(line) - len(line.lstrip())
            end = start + len(stripped)
            if end - start <= max_chars:
                segments.append(Segment(start, end, stripped))
            else:
                segments.extend(_split_long_line(text, start, end, max_chars))
        offset += len(line)
    return segments


def encodable_text(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD, so that it encodes to UTF-8.

    A Python string can hold them (JSON `"\\ud800"` decodes to one); the sentence splitter and the
    encoders work on UTF-8 and would fail. One character for one, so offsets into `text` hold.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def best_overlaps(spans: Sequence[tuple[int, int]], segments: Sequence[Segment]) -> list[int | None]:
    """For each segment, the index of the span it overlaps most (None if it overlaps none).

    Gold is labelled on one segmentation (whole lines, or another `max_chars`); this projects it
    onto any other. `spans` are (start, end) pairs in document order, not overlapping each other.
    """
    best_of: list[int | None] = []
    first = 0
    for segment in segments:
        while first < len(spans) and spans[first][1] <= segment.start:
            first += 1
        best, best_overlap = None, 0
        index = first
        while index < len(spans) and spans[index][0] < segment.end:
            overlap = min(spans[index][1], segment.end) - max(spans[index][0], segment.start)
            if overlap > best_overlap:
                best, best_overlap = index, overlap
            index += 1
        best_of.append(best)
    return best_of


def _trimmed_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) so that it neither starts nor ends with whitespace (`str.isspace`).

    Reads only about as much text as it trims: a sentence megabytes long is cut at whitespace by
    trimming from each cut to its end, and copying that whole rest each time made it quadratic.
    """
    start = _first_kept(text, start, end)
    return start, _last_kept_end(text, start, end)


def _first_kept(text: str, start: int, end: int) -> int:
    """Where text[start:end].lstrip() begins (`end` if it is all whitespace), read in slices that
    double in size."""
    size = _TRIM_SLICE
    while start < end:
        chunk = text[start : min(end, start + size)]
        kept = chunk.lstrip()
        start += len(chunk) - len(kept)
        if kept:
            break
        size *= 2
    return start


def _last_kept_end(text: str, start: int, end: int) -> int:
    """Where text[start:end].rstrip() ends (`start` if it is all whitespace), read in slices that
    double in size."""
    size = _TRIM_SLICE
    while end > start:
        chunk = text[max(start, end - size) : end]
        kept = chunk.rstrip()
        end -= len(chunk) - len(kept)
        if kept:
            break
        size *= 2
    return end


def _split_long_line(text: str, start: int, end: int, max_chars: int) -> list[Segment]:
    """Sentences of text[start:end], each cut further at whitespace if still too long."""
    segments: list[Segment] = []
    for s_start, s_end in _sentence_bounds(text, start, end):
        s_start, s_end = _trimmed_bounds(text, s_start, s_end)
        for c_start, c_end in _cut_at_whitespace(text, s_start, s_end, max_chars):
            segments.append(Segment(c_start, c_end, text[c_start:c_end]))
    return segments


def _sentence_bounds(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """blingfire's sentence spans of text[start:end], plus any text they leave out as spans of its own.

    blingfire reads NUL-terminated UTF-8: a NUL can end its output early (`"\\x00\\x00"` came back
    as one 1-character span) or merge sentences, so NULs go to it as spaces (same length) and any
    text its spans still leave out is kept as a span of its own rather than silently dropped.
    """
    bounds: list[tuple[int, int]] = []
    position = start
    for a, b in _sentence_spans(text, start, end):
        s_start, s_end = max(a, position), min(b, end)
        if s_start >= s_end:
            continue
        if s_start > position:
            bounds.append((position, s_start))
        bounds.append((s_start, s_end))
        position = s_end
    if position < end:
        bounds.append((position, end))
    return bounds


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """blingfire's sentence spans of text[start:end], as offsets into `text`.

    blingfire takes memory many times the size of what it reads, so a line longer than
    `BLINGFIRE_CHARS` (longer than any line of a real page) goes to it in pieces of that size:
    each piece's last sentence may be cut off by the piece's end, so the next piece starts where
    that sentence does (or where the piece ends, if it holds no more than one sentence).
    """
    spans: list[tuple[int, int]] = []
    piece_start = start
    while True:
        piece_end = min(end, piece_start + BLINGFIRE_CHARS)
        offsets = _blingfire_sentences(encodable_text(text[piece_start:piece_end]).replace("\x00", " "))
        resume = piece_end if piece_end == end or len(offsets) < 2 else piece_start + offsets[-1][0]
        if resume <= piece_start:
            resume = piece_end
        spans.extend((piece_start + a, piece_start + b) for a, b in offsets if piece_start + a < resume)
        if resume == end:
            return spans
        piece_start = resume


def _blingfire_sentences(line: str) -> list[tuple[int, int]]:
    """blingfire's sentence spans of `line` as character offsets.

    `blingfire.text_to_sentences_and_offsets` maps its UTF-8 byte offsets back to characters with
    a Python loop over every byte (most of the segmenter's time on a flattened page); here the
    positions of UTF-8 continuation bytes map them all at once, with the same result.
    """
    import blingfire  # loads its sentence model: only pages with a line over `max_chars` need it

    data = line.encode("utf-8")
    capacity = 2 * len(data)
    output = ctypes.create_string_buffer(capacity)
    # blingfire may write an offset per output byte; zeroed numpy arrays take memory only where it does.
    begins, ends = np.zeros(capacity, dtype=np.int32), np.zeros(capacity, dtype=np.int32)
    written = blingfire.blingfire.TextToSentencesWithOffsets(
        ctypes.c_char_p(data),
        ctypes.c_int(len(data)),
        ctypes.byref(output),
        begins.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
        ends.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
        ctypes.c_int(capacity),
    )
    if written <= 0 or written > capacity:
        return []
    count = output.value.count(b"\n") + 1
    # Characters in data[:k]: k less the UTF-8 continuation bytes before k.
    continuation = np.flatnonzero((np.frombuffer(data, dtype=np.uint8) & 0xC0) == 0x80)
    begin_bytes = begins[:count].astype(np.int64)
    end_bytes = ends[:count].astype(np.int64) + 1
    begin_chars = begin_bytes - np.searchsorted(continuation, begin_bytes)
    end_chars = end_bytes - np.searchsorted(continuation, end_bytes)
    # A line with no sentence (only spaces, say) comes back as one span of zero offsets, and its
    # end may then fall inside a character ("\xa0 "): blingfire's own mapping takes the line's end.
    end_chars[np.isin(end_bytes, continuation)] = len(line)
    return list(zip(begin_chars.tolist(), end_chars.tolist(), strict=True))


def _cut_at_whitespace(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Pieces of at most `max_chars`, cut at the last whitespace before the limit when there is one."""
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        limit = start + max_chars
        cut = limit
        while cut > start + max_chars // 2 and not text[cut].isspace():
            cut -= 1
        if not text[cut].isspace():
            cut = limit
        piece_start, piece_end = _trimmed_bounds(text, start, cut)
        if piece_start < piece_end:
            pieces.append((piece_start, piece_end))
        start, end = _trimmed_bounds(text, cut, end)
    if start < end:
        pieces.append((start, end))
    return pieces

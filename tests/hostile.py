"""Hostile text for property tests: the pieces that have broken segmenters, mixed into random text."""

from __future__ import annotations

from hypothesis import strategies as st

# Line ends of every kind, NULs, lone surrogates (JSON "\ud800" decodes to one), zero-width and
# byte-order marks, abbreviations, CJK full stops and right-to-left and Indic scripts.
HOSTILE_PIECES = (
    *("\x00", " ", ". ", "?", "\n", "\r", "\r\n", "\x85", "\u2028", "\x1c", "\t", "\u3000", "\ufeff"),
    *("\u200b", "\ud800", "\udfff", "word", "Mr.", "e.g.", "😀", "日本語。", "مرحبا", "বাংলা"),
)


def hostile_texts(max_pieces: int = 200) -> st.SearchStrategy[str]:
    """Strings built from `HOSTILE_PIECES` and short random text (surrogates included)."""
    random_text = st.text(st.characters(exclude_categories=()), max_size=4)
    return st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), random_text), max_size=max_pieces).map("".join)

"""The segmenter's own offset mapping of blingfire's sentences against blingfire's Python mapping."""

from __future__ import annotations

import blingfire
from hypothesis import given, settings
from hypothesis import strategies as st

from storysplit.features.segmentation import _blingfire_sentences

_PIECES = st.sampled_from(["Hello world.", " ", "ünïcödé", "😀", "Dr. Who?", "日本語。", "ā", "\t", "Yes!"])
_LINES = st.lists(
    st.one_of(_PIECES, st.text(st.characters(blacklist_categories=["Cs", "Cc"]))), min_size=1
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_LINES.filter(str.strip))
def test_offsets_equal_blingfire_own_mapping(line: str) -> None:
    assert _blingfire_sentences(line) == blingfire.text_to_sentences_and_offsets(line)[1]

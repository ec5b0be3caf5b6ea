"""Words of any script: the token pattern against its definition written the obvious way."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from storysplit.features.words import CJK_RANGES, TOKEN, words

# The definition: one CJK character, or a run of word characters that are not CJK, each tested
# with a look-ahead (TOKEN matches the same with one character class).
_DEFINITION = re.compile(rf"[{CJK_RANGES}]|(?:(?![{CJK_RANGES}])\w)+")
_MIXED = st.text(
    st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from("東京都はの、。・ー abc_ 123 éß İ ٣ 한국어 ＡＢ"),
    ),
    max_size=60,
)


@settings(max_examples=500, deadline=None)
@given(_MIXED)
def test_token_finds_the_words_of_its_definition(text: str) -> None:
    assert TOKEN.findall(text) == _DEFINITION.findall(text)


def test_cjk_characters_are_words_of_their_own() -> None:
    assert words("東京都は Big_Apple・NYC 2024年") == [
        "東",
        "京",
        "都",
        "は",
        "big_apple",
        "・",
        "nyc",
        "2024",
        "年",
    ]

"""Words of any script: what counts as one word for lengths, alignment and token metrics.

Chinese and Japanese write no spaces, so `\\w+` takes a whole clause as one "word": a 40-character
sentence would look as short as a menu item, and a bag of such "words" matches nothing unless
clauses are cut identically. Each Han, kana or Hangul-less CJK ideograph therefore counts as one
word (the usual unit of bag-of-characters scores for these languages); other scripts keep `\\w+`.
"""

from __future__ import annotations

import re

CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""Hiragana, katakana, CJK ideographs (with extension A) and compatibility ideographs."""
TOKEN = re.compile(rf"[{CJK_RANGES}]|[^\W{CJK_RANGES}]+")
"""One CJK character, or a run of other word characters (a class of "not a non-word character and
not CJK": faster than testing each character of a run with a look-ahead)."""


def words(text: str) -> list[str]:
    """The lowercased words of `text`, CJK characters one by one."""
    return TOKEN.findall(text.lower())

"""The static encoder's word-level id cache gives exactly the tokenizer's ids, whatever the text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from storysplit.features.encoders import CachingEncoder
from storysplit.features.static_encoder import StaticEncoder

STATIC_MODEL = "models/encoders/minilm-static"
# Whitespace the tokenizer and str.split agree or disagree on, controls it deletes, accents it
# strips, characters it spaces out (CJK), case it folds differently from Python (Σ, İ), its own
# special tokens written out, and ordinary news text.
_PIECES = [
    *"abcXYZ019 .,;:!?'\"-()[]#@&/",
    *"\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2003\u2028\u2029\u202f\u3000",
    *"\x00\x7f\xad\u200b\u200d\ufeff\ufffd\u0301éÉñß’“”—…中文日本ΣσςİıK",
    "[UNK]",
    "[PAD]",
    "Latest • Most Viewed",
    "Trump’s",
    "ÉCOLE",
    "x" * 120,
]
_ENCODER = StaticEncoder(STATIC_MODEL, word_cache_size=50)


def _reference(texts: list[str]) -> list[list[int]]:
    return [e.ids for e in _ENCODER.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join), min_size=1, max_size=8))
def test_ids_by_word_equal_the_tokenizers_ids(texts: list[str]) -> None:
    assert _ENCODER.token_ids(texts) == _reference(texts)
    assert _ENCODER.token_ids(texts) == _reference(texts)  # now from the cache
    assert len(_ENCODER._word_ids) <= _ENCODER.word_cache_size + sum(len(t.split()) for t in texts)


def test_long_texts_are_cut_where_the_tokenizer_cuts_them() -> None:
    texts = ["word " * 600, "un" + "believable " * 300, "short"]
    ids = StaticEncoder(STATIC_MODEL).token_ids(texts)
    assert ids == _reference(texts) and len(ids[0]) == 512


def test_emptying_the_embedding_cache_forgets_the_words_too() -> None:
    encoder = StaticEncoder(STATIC_MODEL)
    cached = CachingEncoder(encoder, max_entries=10)
    cached.encode(["Most Viewed stories"])
    assert encoder._word_ids
    cached.clear()
    assert not encoder._word_ids and not cached._cache

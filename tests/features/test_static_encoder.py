"""The static encoder's word-level id cache gives exactly the tokenizer's ids, whatever the text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storysplit.features.encoders import CachingEncoder
from storysplit.features.static_encoder import StaticEncoder

STATIC_MODEL = "models/encoders/minilm-static"  # BERT WordPiece
SENTENCEPIECE_MODEL = "models/encoders/e5-static"  # XLM-R Unigram: NFKC, Metaspace
# Whitespace the tokenizer and str.split agree or disagree on, controls it deletes, accents it
# strips, characters it spaces out (CJK), case it folds differently from Python (Σ, İ), its own
# special tokens written out, and ordinary news text.
_PIECES = [
    *"abcXYZ019 .,;:!?'\"-()[]#@&/",
    *"\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2003\u2028\u2029\u202f\u3000",
    *"\x00\x7f\xad\u200b\u200d\ufeff\ufffd\u0301éÉñß’“”—…中文日本ΣσςİıK",
    "[UNK]",
    "[PAD]",
    *"\u2581\u00a8\u2460\ufb01\u00bd\u3392\u0300\uff21",  # ▁ and characters NFKC rewrites, some to spaces
    " ",
    "  ",
    "Latest • Most Viewed",
    "Trump’s",
    "ÉCOLE",
    "x" * 120,
]
_ENCODER = StaticEncoder(STATIC_MODEL, word_cache_size=50)
_SENTENCEPIECE_ENCODER = StaticEncoder(SENTENCEPIECE_MODEL, word_cache_size=50)
_TEXTS = st.lists(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join), min_size=1, max_size=8)


def _reference(encoder: StaticEncoder, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in encoder.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_ids_by_word_equal_the_tokenizers_ids(texts: list[str]) -> None:
    assert _ENCODER.token_ids(texts) == _reference(_ENCODER, texts)
    assert _ENCODER.token_ids(texts) == _reference(_ENCODER, texts)  # now from the cache
    assert len(_ENCODER._word_ids) <= _ENCODER.word_cache_size + sum(len(t.split()) for t in texts)


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_sentencepiece_ids_by_word_equal_the_tokenizers_ids(texts: list[str]) -> None:
    encoder = _SENTENCEPIECE_ENCODER
    assert encoder._word_path is not None
    assert encoder.token_ids(texts) == _reference(encoder, texts)
    assert encoder.token_ids(texts) == _reference(encoder, texts)  # now from the cache


@pytest.mark.parametrize("text", ["x \u2581a", "x \u2581 a", "a ", "a\u00a0b", "x \u00a8y", "", " a"])
def test_sentencepiece_texts_normalising_would_resplit_match_too(text: str) -> None:
    assert _SENTENCEPIECE_ENCODER.token_ids([text]) == _reference(_SENTENCEPIECE_ENCODER, [text])


def test_sentencepiece_word_path_serves_real_text_from_the_cache() -> None:
    encoder = StaticEncoder(SENTENCEPIECE_MODEL)
    texts = [
        "Die Regierung hat am Montag beschlossen.",
        "東京都は新しい計画を発表した。",
        "Latest • Most Viewed",
        "Sie sagte, dass …",  # not NFKC ("…" becomes "..."): tokenised whole, its words not cached
    ]
    assert encoder.token_ids(texts) == _reference(encoder, texts)
    assert {"Regierung", "東京都は新しい計画を発表した。", "•"} <= set(encoder._word_ids)
    assert "sagte," not in encoder._word_ids


def test_long_texts_are_cut_where_the_tokenizer_cuts_them() -> None:
    texts = ["word " * 600, "un" + "believable " * 300, "short"]
    encoder = StaticEncoder(STATIC_MODEL)
    ids = encoder.token_ids(texts)
    assert ids == _reference(encoder, texts) and len(ids[0]) == 512


def test_emptying_the_embedding_cache_forgets_the_words_too() -> None:
    encoder = StaticEncoder(STATIC_MODEL)
    cached = CachingEncoder(encoder, max_entries=10)
    cached.encode(["Most Viewed stories"])
    assert encoder._word_ids
    cached.clear()
    assert not encoder._word_ids and not cached._cache


def test_float16_weights_give_the_same_vectors_before_and_after_widening() -> None:
    """A page's rows gathered from the stored float16 matrix equal those of its float32 copy, bit for bit."""
    texts = ["Latest • Most Viewed", "Die Regierung hat am Montag beschlossen.", "", "東京都は新しい計画"]
    fresh = StaticEncoder(SENTENCEPIECE_MODEL)
    assert fresh._float32 is None  # a few rows gathered: nothing widened yet
    before = fresh.encode(texts)
    assert fresh._float32 is None
    widened = StaticEncoder(SENTENCEPIECE_MODEL)
    widened.embedding  # noqa: B018 (widens the whole matrix)
    assert widened._float32 is not None
    np.testing.assert_array_equal(before, widened.encode(texts))

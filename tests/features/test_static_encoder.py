"""The static encoder's word-level id cache gives exactly the tokenizer's ids, whatever the text."""

from __future__ import annotations

import functools
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from storysplit.features.sentencepiece_ids import sentencepiece_ids
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
    "<s>",
    "<unk>",
    "</s>",
    *"\u2581\u00a8\u2460\ufb01\u00bd\u3392\u0300\uff21",  # ▁ and characters NFKC rewrites, some to spaces
    " ",
    "  ",
    "Latest • Most Viewed",
    "Trump’s",
    "ÉCOLE",
    "x" * 120,
]
TIE = "#ccc; ~~~~~~~~~~~~~~~~~~~~~~~~"  # a text whose pieces sentencepiece orders otherwise
_ENCODER = StaticEncoder(STATIC_MODEL, word_cache_size=50)
_SENTENCEPIECE_ENCODER = StaticEncoder(SENTENCEPIECE_MODEL, word_cache_size=50)
_TEXTS = st.lists(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join), min_size=1, max_size=8)


@functools.cache
def _tokenizer(model: str) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(Path(model) / "tokenizer.json"))
    tokenizer.no_padding()
    return tokenizer


def _reference(encoder: StaticEncoder, texts: list[str]) -> list[list[int]]:
    """Hugging Face's ids for the encoder's folder, each text tokenised whole."""
    encodings = _tokenizer(encoder.model_path).encode_batch_fast(texts, add_special_tokens=False)
    return [e.ids for e in encodings]


def _tied_alike(got: list[list[int]], expected: list[list[int]]) -> bool:
    """Equal ids, except that a text's ids may come in another order (sentencepiece breaks exact
    ties between two orders of the same pieces otherwise than Hugging Face; the mean is the same)."""
    return len(got) == len(expected) and all(
        a == b or Counter(a) == Counter(b) for a, b in zip(got, expected, strict=True)
    )


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_ids_by_word_equal_the_tokenizers_ids(texts: list[str]) -> None:
    assert _ENCODER.token_ids(texts) == _reference(_ENCODER, texts)
    assert _ENCODER.token_ids(texts) == _reference(_ENCODER, texts)  # now from the cache


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_sentencepiece_ids_equal_the_tokenizers_ids(texts: list[str]) -> None:
    encoder = _SENTENCEPIECE_ENCODER
    assert _tied_alike(encoder.token_ids(texts), _reference(encoder, texts))
    assert _tied_alike(encoder.token_ids(texts), _reference(encoder, texts))  # now from the cache


@pytest.mark.parametrize(
    "text", ["x \u2581a", "x \u2581 a", "a ", "a\u00a0b", "x \u00a8y", "", " a", "<unk> <s>x", "\x00\x7f 😀"]
)
def test_sentencepiece_texts_normalising_would_resplit_match_too(text: str) -> None:
    assert _SENTENCEPIECE_ENCODER.token_ids([text]) == _reference(_SENTENCEPIECE_ENCODER, [text])


def test_sentencepiece_ties_are_the_same_pieces_in_another_order() -> None:
    """The one way the two may differ, as found on real pages (56 of 226,742 lines); that they
    differ shows the encoder runs the sentencepiece library."""
    text = TIE
    got, expected = _SENTENCEPIECE_ENCODER.token_ids([text]), _reference(_SENTENCEPIECE_ENCODER, [text])
    assert got != expected and _tied_alike(got, expected)
    vectors = _SENTENCEPIECE_ENCODER.embedding
    np.testing.assert_allclose(vectors[got[0]].mean(0), vectors[expected[0]].mean(0), atol=1e-6)


def test_sentencepiece_word_path_splits_real_text_into_the_words_it_caches() -> None:
    texts = [
        "Die Regierung hat am Montag beschlossen.",
        "東京都は新しい計画を発表した。",
        "Latest • Most Viewed",
        "Sie sagte, dass …",  # not NFKC ("…" becomes "..."): normalised by the tokenizer's normaliser
    ]
    assert StaticEncoder(SENTENCEPIECE_MODEL).token_ids(texts) == _reference(_SENTENCEPIECE_ENCODER, texts)
    fast = sentencepiece_ids(Path(SENTENCEPIECE_MODEL) / "tokenizer.json")
    assert fast is not None
    assert [fast.words(text) for text in texts] == [
        ["Die", "Regierung", "hat", "am", "Montag", "beschlossen."],
        ["東京都は新しい計画を発表した。"],
        ["Latest", "•", "Most", "Viewed"],
        ["Sie", "sagte,", "dass", "..."],
    ]


def test_a_built_tokenizer_is_kept_and_a_damaged_one_rebuilt(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STORYSPLIT_CACHE", str(tmp_path))
    texts = ["Die Regierung hat am Montag beschlossen.", "Sie sagte, dass …"]
    built = StaticEncoder(SENTENCEPIECE_MODEL).token_ids(texts)
    (kept,) = (tmp_path / "sentencepiece").glob("*.model")
    assert (
        StaticEncoder(SENTENCEPIECE_MODEL).token_ids(texts)
        == built
        == _reference(_SENTENCEPIECE_ENCODER, texts)
    )
    kept.write_bytes(b"not a model")
    assert StaticEncoder(SENTENCEPIECE_MODEL).token_ids(texts) == built
    assert kept.read_bytes() != b"not a model"


def test_an_unwritable_cache_folder_only_costs_the_build(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("STORYSPLIT_CACHE", str(blocker))
    texts = ["Latest • Most Viewed"]
    assert StaticEncoder(SENTENCEPIECE_MODEL).token_ids(texts) == _reference(_SENTENCEPIECE_ENCODER, texts)


def test_long_texts_are_cut_where_the_tokenizer_cuts_them() -> None:
    texts = ["word " * 600, "un" + "believable " * 300, "short"]
    encoder = StaticEncoder(STATIC_MODEL)
    ids = encoder.token_ids(texts)
    assert ids == _reference(encoder, texts) and len(ids[0]) == 512


def test_float16_weights_give_the_same_vectors_before_and_after_widening() -> None:
    """Rows widened as texts first use them equal the whole matrix widened at once, bit for bit."""
    texts = ["Latest • Most Viewed", "Die Regierung hat am Montag beschlossen.", "", "東京都は新しい計画"]
    before = StaticEncoder(SENTENCEPIECE_MODEL).encode(texts)
    widened = StaticEncoder(SENTENCEPIECE_MODEL)
    (stored,) = load_file(str(Path(SENTENCEPIECE_MODEL) / "model.safetensors")).values()
    assert stored.dtype == np.float16
    np.testing.assert_array_equal(widened.embedding, stored.astype(np.float32))
    np.testing.assert_array_equal(before, widened.encode(texts))


def test_without_the_sentencepiece_library_texts_go_to_hugging_face_whole(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # `import sentencepiece` now fails
    encoder = StaticEncoder(SENTENCEPIECE_MODEL)
    texts = ["Die Regierung hat am Montag beschlossen.", TIE, "a\u00a0b …", ""]
    assert encoder.token_ids(texts) == _reference(encoder, texts)  # the tie too: Hugging Face's own order

"""Token ids of an XLM-R-style Unigram tokenizer, its Viterbi step run by the sentencepiece library.

On a corpus run the tokenizer took a large share of the time, most of it in Hugging Face's Unigram
model; sentencepiece's C++ Viterbi over the same pieces and scores is faster per new word
(docs/speed.md). Only that step changes. Normalising and pre-tokenising stay Hugging Face's own
objects (NFKC, runs of spaces made one, Metaspace), built from the tokenizer.json parts, and every
Metaspace piece ("▁word") is tokenised on its own, as Hugging Face does, with its ids cached by word.

The two agree on every word's pieces except where two orders of the same pieces spell it ("#ccc;"
is "c" + "cc" or "cc" + "c"): an exact tie, which Hugging Face breaks in float64 and sentencepiece
in float32. The same ids in another order give the same mean vector up to float32 rounding (the
shipped model's probabilities on corpus pages did not move, docs/speed.md).

Building the processor from tokenizer.json costs more than loading a built one: a built one
is kept in the user's cache folder (`features.user_cache`), named by tokenizer.json's digest.
"""

from __future__ import annotations

import hashlib
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

from storysplit.features.user_cache import read_cached, write_cached

METASPACE = "\u2581"
_CACHE_KIND = "sentencepiece"
_COLLAPSE_SPACES = {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
_OWN_UNKNOWN = "<unknown piece of sentencepiece>"
# Bumped when the conversion below changes, so no processor built by an older one is loaded.
_CONVERSION = "1"


def is_sentencepiece_unigram(config: dict[str, Any]) -> bool:
    """A tokenizer.json of the kind this module runs: NFKC (then optionally runs of spaces made
    one), a Metaspace pre-tokeniser splitting on `▁` and always prepending it, a Unigram model
    without byte fallback, no added tokens and no post-processor."""
    normalizer = config.get("normalizer") or {}
    pre_tokenizer = config.get("pre_tokenizer") or {}
    model = config.get("model") or {}
    steps = normalizer.get("normalizers") if normalizer.get("type") == "Sequence" else [normalizer]
    return (
        steps in ([{"type": "NFKC"}], [{"type": "NFKC"}, _COLLAPSE_SPACES])
        and pre_tokenizer.get("type") == "Metaspace"
        and pre_tokenizer.get("replacement") == METASPACE
        and pre_tokenizer.get("split") is True
        and pre_tokenizer.get("prepend_scheme") == "always"
        and model.get("type") == "Unigram"
        and not model.get("byte_fallback")
        and isinstance(model.get("unk_id"), int)
        and not config.get("added_tokens")
        and config.get("post_processor") is None
    )


class SentencePieceIds:
    """Splits texts into the words `WordIds` caches and tokenises new ones (see the module doc).

    Args:
        processor: A `sentencepiece.SentencePieceProcessor` over the tokenizer's pieces and scores,
            taking a Metaspace piece ("▁word") as it is (`_model_proto`).
        unk_id: The tokenizer's unknown id; the processor's own unknown piece is appended after
            the tokenizer's pieces, so its id is mapped back to this.
        collapse_spaces: The tokenizer's normaliser makes runs of spaces one.
        max_tokens: The tokenizer's right truncation (`sys.maxsize` for none).
    """

    def __init__(self, processor: Any, unk_id: int, collapse_spaces: bool, max_tokens: int) -> None:
        from tokenizers import Regex, normalizers, pre_tokenizers

        self.processor = processor
        self.unk_id = unk_id
        self.own_unk_id = processor.get_piece_size() - 1  # appended last (`_model_proto`)
        steps: list[normalizers.Normalizer] = [normalizers.NFKC()]
        if collapse_spaces:
            steps.append(normalizers.Replace(Regex(" {2,}"), " "))
        self.normalizer = normalizers.Sequence(steps)
        self.pre_tokenizer = pre_tokenizers.Metaspace(METASPACE, prepend_scheme="always", split=True)
        self.max_tokens = max_tokens

    def words(self, text: str) -> list[str]:
        """The text's Metaspace pieces without their leading `▁`.

        NFKC text with no `▁` that does not end in a space (most text) is split on spaces here:
        normalising leaves it as it is, and Metaspace would split it at the same places. Any other
        text is normalised and pre-tokenised by the tokenizer's own objects.
        """
        if METASPACE not in text and not text.endswith(" ") and unicodedata.is_normalized("NFKC", text):
            words = text.split(" ")
            return [word for word in words if word] if "" in words else words
        pieces = self.pre_tokenizer.pre_tokenize_str(self.normalizer.normalize_str(text))
        return [piece[1:] for piece, _offsets in pieces]

    def tokenize(self, words: list[str]) -> list[list[int]]:
        """Each word's ids: those of its Metaspace piece ("▁" + word), without special tokens."""
        encoded: list[list[int]] = self.processor.encode([METASPACE + word for word in words], num_threads=1)
        own_unk, unk = self.own_unk_id, self.unk_id
        return [
            _fused_unknowns(ids, own_unk, unk) if own_unk in ids or unk in ids else ids for ids in encoded
        ]


def _fused_unknowns(ids: list[int], own_unk: int, unk: int) -> list[int]:
    """`ids` with sentencepiece's unknown id made the tokenizer's, and each run of unknown ids made
    one, as Hugging Face's Unigram model fuses them (a "<unk>" written in the text is one too)."""
    fused: list[int] = []
    for token in ids:
        token = unk if token == own_unk else token
        if token != unk or not fused or fused[-1] != unk:
            fused.append(token)
    return fused


def sentencepiece_ids(tokenizer_file: Path) -> SentencePieceIds | None:
    """A `SentencePieceIds` for `tokenizer_file`, or None when the file is not of that kind or
    the sentencepiece library is not installed (the caller then runs Hugging Face's tokenizer)."""
    try:
        import sentencepiece
    except ImportError:
        return None
    data = tokenizer_file.read_bytes()
    name = hashlib.sha256(data + _CONVERSION.encode()).hexdigest()
    meta_bytes, proto = read_cached(_CACHE_KIND, f"{name}.json"), read_cached(_CACHE_KIND, f"{name}.model")
    if meta_bytes is not None and proto is not None:
        try:
            meta = json.loads(meta_bytes)
            processor = sentencepiece.SentencePieceProcessor(model_proto=proto)
            return SentencePieceIds(processor, meta["unk_id"], meta["collapse_spaces"], meta["max_tokens"])
        except (ValueError, KeyError, TypeError, RuntimeError):
            pass  # a damaged cache entry: built again below
    config = json.loads(data)
    max_tokens = right_truncation(config.get("truncation"))
    if not is_sentencepiece_unigram(config) or max_tokens is None:
        return None
    proto = _model_proto(config["model"])
    meta = {
        "unk_id": int(config["model"]["unk_id"]),
        "collapse_spaces": config["normalizer"].get("type") == "Sequence",
        "max_tokens": max_tokens,
    }
    write_cached(_CACHE_KIND, f"{name}.json", json.dumps(meta).encode())
    write_cached(_CACHE_KIND, f"{name}.model", proto)
    processor = sentencepiece.SentencePieceProcessor(model_proto=proto)
    return SentencePieceIds(processor, meta["unk_id"], meta["collapse_spaces"], meta["max_tokens"])


def right_truncation(truncation: dict[str, Any] | None) -> int | None:
    """The token limit of a tokenizer's truncation (tokenizer.json's or a `Tokenizer`'s
    `truncation`) when it cuts at the right with no stride; `sys.maxsize` for no truncation, None
    for any other kind (whose ids a word cache cannot reproduce)."""
    if truncation is None:
        return sys.maxsize
    if truncation.get("direction") == "right" and not truncation.get("stride"):
        return int(truncation["max_length"])
    return None


def _model_proto(model: dict[str, Any]) -> bytes:
    """A serialised SentencePiece Unigram model with the tokenizer's pieces and scores.

    No normalisation and no dummy prefix: it is given Metaspace pieces, already normalised and
    starting with `▁`. Every piece of the tokenizer is an ordinary one, `<s>` and `<unk>` too:
    Hugging Face's Unigram model, with no added tokens, matches them in text like any other.
    sentencepiece's own unknown piece, which text never matches, is appended after them.
    """
    from sentencepiece import sentencepiece_model_pb2

    pb: Any = sentencepiece_model_pb2  # generated protobuf classes, which mypy cannot see

    proto = pb.ModelProto()
    kinds = pb.ModelProto.SentencePiece
    for piece, score in model["vocab"]:
        proto.pieces.add(piece=piece, score=score, type=kinds.NORMAL)
    proto.pieces.add(piece=_OWN_UNKNOWN, score=0.0, type=kinds.UNKNOWN)
    spec = proto.trainer_spec
    spec.model_type = pb.TrainerSpec.UNIGRAM
    spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id = len(model["vocab"]), -1, -1, -1
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = False
    proto.normalizer_spec.remove_extra_whitespaces = False
    return bytes(proto.SerializeToString())

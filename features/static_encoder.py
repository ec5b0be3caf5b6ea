"""Static (model2vec-style) embeddings computed with numpy: a token lookup and a mean, no torch.

A static sentence-transformers folder holds one `StaticEmbedding` module: a tokenizer and a
(vocabulary, dimension) matrix. sentence-transformers runs it through torch in small batches,
which costs torch's import (seconds and hundreds of MB) and a Python flattening step per batch;
here the tokenizer's ids gather their rows of the embedding matrix, added position by position over
the texts (a `scipy.sparse` product did the same, but importing scipy slowed every start). Results
equal sentence-transformers' to float32 rounding (~1e-7).

Tokenising is most of the encoder's time, and a corpus repeats its words endlessly, so the ids
of each word are cached (`features.word_ids`) and a text's ids are its words' ids in order. That
holds for two kinds of tokenizer: BERT-style ones never join tokens across whitespace (texts
holding a character that Python splits on but the tokenizer deletes are tokenised whole), and
SentencePiece-style ones (NFKC, runs of spaces made one, Metaspace splitting on spaces: XLM-R,
multilingual-e5) tokenise each space-separated piece on its own; the latter run on the
sentencepiece library (`features.sentencepiece_ids`, faster per word than Hugging Face's
Unigram model). Texts of any other tokenizer are tokenised whole.
"""

from __future__ import annotations

import functools
import json
import re
import struct
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from storysplit.features.model_folder import model_fingerprint
from storysplit.features.sentencepiece_ids import right_truncation, sentencepiece_ids
from storysplit.features.word_ids import WordIds, positions_within, split_flat

STATIC_MODULE = "sentence_transformers.sentence_transformer.modules.static_embedding.StaticEmbedding"
_LEGACY_STATIC_MODULE = "sentence_transformers.models.StaticEmbedding"
_SAFETENSORS_DTYPES: dict[str, np.dtype[Any]] = {"F16": np.dtype("<f2"), "F32": np.dtype("<f4")}
# Control characters `str.split` treats as whitespace; BERT's normaliser deletes them instead.
_SPLIT_DISAGREES = re.compile("[\x0b\x0c\x1c-\x1f\x85]")


def is_static_folder(path: str | Path) -> bool:
    """True for a sentence-transformers folder whose only module is a `StaticEmbedding`."""
    modules_file = Path(path) / "modules.json"
    if not modules_file.is_file():
        return False
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(modules, list)
        and len(modules) == 1
        and isinstance(modules[0], dict)
        and modules[0].get("type") in (STATIC_MODULE, _LEGACY_STATIC_MODULE)
    )


class StaticEncoder:
    """Mean of token vectors per text, optionally L2-normalised.

    Args:
        model_path: A static sentence-transformers folder (`is_static_folder`).
        batch_size: Texts tokenised and summed per step; bounds the token table's memory.
        normalize: L2-normalise the means (rows of zeros stay zero).
        word_cache_size: Words whose ids are kept (each a dict entry and its ids in memory); the
            cache is emptied when it outgrows this.
    """

    def __init__(
        self, model_path: str, batch_size: int = 4096, normalize: bool = True, word_cache_size: int = 200_000
    ) -> None:
        self.model_path = model_path
        folder = Path(model_path)
        stored = _mapped_embedding(folder / "model.safetensors")
        # Float16 weights (the distilled encoders') are widened to float32 row by row as texts first
        # use them: a page touches a few thousand rows, a corpus run tens of thousands (widening
        # the whole matrix would slow every start), and the float32 matrix's untouched pages are
        # never written, so they take no memory. Widening is exact.
        self._stored = stored
        self._widened: np.ndarray | None = None
        if stored.dtype == np.float16:
            self._float32 = np.empty(stored.shape, dtype=np.float32)
            self._widened = np.zeros(len(stored), dtype=bool)
        else:
            self._float32 = stored.astype(np.float32, copy=False)
        self.batch_size = batch_size
        self.normalize = normalize
        fast = sentencepiece_ids(folder / "tokenizer.json")
        if fast is not None:
            self._words: Callable[[str], list[str]] = fast.words
            self._word_ids = WordIds(fast.tokenize, fast.max_tokens, word_cache_size)
        else:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.no_padding()
            self._words, max_tokens = _hugging_face_words(tokenizer)
            self._word_ids = WordIds(functools.partial(_tokenized, tokenizer), max_tokens, word_cache_size)

    @property
    def fingerprint(self) -> str:
        return model_fingerprint(self.model_path)

    @property
    def dimension(self) -> int:
        return int(self._stored.shape[1])

    @property
    def embedding(self) -> np.ndarray:
        """The (vocabulary, dimension) float32 matrix."""
        if self._widened is not None:
            self._widen(np.flatnonzero(~self._widened))
        return self._float32

    def _widen(self, ids: np.ndarray) -> None:
        """Make the float32 rows of `ids` (repeats allowed) those of the stored float16 matrix."""
        assert self._widened is not None
        new = np.sort(ids[~self._widened[ids]])  # never a pass over the whole vocabulary
        # Each row once, however often the texts repeat it (what `np.unique` does, without the
        # `numpy.ma` import it costs a one-page command, about 10 ms).
        new = new[np.concatenate([[True], new[1:] != new[:-1]])] if new.size else new
        self._float32[new] = self._stored[new]
        self._widened[new] = True

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns: float32 array of shape (len(texts), dimension)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for first in range(0, len(texts), self.batch_size):
            batch = list(texts[first : first + self.batch_size])
            out[first : first + len(batch)] = self._means(batch)
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.divide(out, norms, out=out, where=norms > 0)
        return out

    def clear(self) -> None:
        """Forget the cached ids of words."""
        self._word_ids.clear()

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Each text's token ids, without special tokens, as the tokenizer gives them."""
        return split_flat(*self._flat_ids(texts))

    def _flat_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return self._word_ids.flat([self._words(text) for text in texts])

    def _means(self, texts: list[str]) -> np.ndarray:
        ids, lengths = self._flat_ids(texts)
        order = np.argsort(-lengths, kind="stable")  # longest first: the texts still adding are a prefix
        sorted_lengths = lengths[order]
        starts = np.cumsum(lengths) - lengths
        # columns: the ids of the texts in that order; table[k, p]: the p-th id of the k-th longest
        # text (0 past its end, never read).
        within = positions_within(sorted_lengths)
        columns = ids[np.repeat(starts[order], sorted_lengths) + within]
        table = np.zeros((len(texts), int(sorted_lengths[0]) if len(texts) else 0), dtype=np.intp)
        table[np.repeat(np.arange(len(texts)), sorted_lengths), within] = columns
        sums = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if self._widened is not None:
            self._widen(ids)
        rows = self._float32
        # Token after token from zero, as a sequential (and scipy's sparse) sum adds them: same float32
        # sums to the bit, which the heads' tree thresholds need (a pairwise order moved p by 0.002).
        for position in range(table.shape[1]):
            adding = int(np.searchsorted(-sorted_lengths, -position, side="left"))
            sums[:adding] += rows[table[:adding, position]]
        means = np.empty_like(sums)
        means[order] = sums / np.maximum(sorted_lengths, 1)[:, None].astype(np.float32)
        return means


def _mapped_embedding(path: Path) -> np.ndarray:
    """The one 2-D tensor of a safetensors file, memory-mapped read-only.

    safetensors' own loader reads the whole file on every start; mapped, a page's few thousand
    rows are all that is read. The format is an 8-byte little-endian header length, a JSON header
    naming each tensor's dtype, shape and byte range, then the data.

    Raises:
        ValueError: the file is not one float16 or float32 matrix in that format.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        (header_size,) = struct.unpack("<Q", handle.read(8).ljust(8, b"\0"))
        if not 2 <= header_size <= size - 8:
            raise ValueError(f"{path} is not a safetensors file (header of {header_size} bytes)")
        header = json.loads(handle.read(header_size))
    tensors = {name: spec for name, spec in header.items() if name != "__metadata__"}
    if len(tensors) != 1:
        raise ValueError(f"{path} holds {sorted(tensors)}, expected one embedding")
    ((name, spec),) = tensors.items()
    dtype = _SAFETENSORS_DTYPES.get(str(spec.get("dtype")))
    shape: tuple[int, ...] = tuple(spec.get("shape", ()))
    begin, end = spec.get("data_offsets", (0, -1))
    if dtype is None or len(shape) != 2 or end - begin != shape[0] * shape[1] * dtype.itemsize:
        raise ValueError(f"{path}: tensor {name!r} is not a float16 or float32 matrix ({spec})")
    if 8 + header_size + end > size:
        raise ValueError(f"{path} is shorter than its header says")
    return np.memmap(path, dtype=dtype, mode="r", offset=8 + header_size + begin, shape=shape)


def _hugging_face_words(tokenizer: Any) -> tuple[Callable[[str], list[str]], int]:
    """How `WordIds` splits texts for a Hugging Face tokenizer, and the ids it keeps per text.

    BERT-style tokenizers that cut at the right: a text's words (`str.split`), or the whole text as
    one "word" where the two would split it apart. Any other tokenizer: every text whole, cut by
    the tokenizer itself (`sys.maxsize`: `WordIds` keeps all ids).
    """
    max_tokens = right_truncation(tokenizer.truncation)
    if max_tokens is None or not _splits_into_words(tokenizer):
        return _whole, sys.maxsize
    return _bert_words, max_tokens


def _whole(text: str) -> list[str]:
    return [text]


def _bert_words(text: str) -> list[str]:
    return [text] if _SPLIT_DISAGREES.search(text) else text.split()


def _tokenized(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    return [encoding.ids for encoding in tokenizer.encode_batch_fast(texts, add_special_tokens=False)]


def _splits_into_words(tokenizer: Any) -> bool:
    """A BERT normaliser and pre-tokeniser, and no added token holding whitespace: the tokenizer
    never joins tokens across whitespace."""
    added = [token.content for token in tokenizer.get_added_tokens_decoder().values()]
    if any(any(c.isspace() for c in token) for token in added):
        return False
    kinds = (type(tokenizer.normalizer).__name__, type(tokenizer.pre_tokenizer).__name__)
    return kinds == ("BertNormalizer", "BertPreTokenizer")

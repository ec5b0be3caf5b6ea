"""Static (model2vec-style) embeddings computed with numpy: a token lookup and a mean, no torch.

A static sentence-transformers folder holds one `StaticEmbedding` module: a tokenizer and a
(vocabulary, dimension) matrix. sentence-transformers runs it through torch in small batches,
which costs torch's import (~2 s, ~300 MB) and a Python flattening step per batch; here the
tokenizer's ids gather their rows of the embedding matrix, added position by position over the
texts (a `scipy.sparse` product did the same, but importing it took ~0.3 s per process). Results
equal sentence-transformers' to float32 rounding (~1e-7).

Tokenising is most of the encoder's time, and a corpus repeats its words endlessly, so the ids
of each word are cached and a text's ids are its words' ids in order. That holds for two kinds of
tokenizer: BERT-style ones never join tokens across whitespace (texts holding a character that
Python splits on but the tokenizer deletes go to the tokenizer whole), and SentencePiece-style
ones (NFKC, runs of spaces made one, Metaspace splitting on spaces: XLM-R, multilingual-e5)
tokenise each space-separated piece on its own. For the latter a text takes the word path only
where normalising cannot move a word boundary: it is NFKC already, holds no `▁` and does not end
in a space; any other text goes to the tokenizer whole.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from storysplit.features.model_folder import model_fingerprint

STATIC_MODULE = "sentence_transformers.sentence_transformer.modules.static_embedding.StaticEmbedding"
_LEGACY_STATIC_MODULE = "sentence_transformers.models.StaticEmbedding"
# Control characters `str.split` treats as whitespace; BERT's normaliser deletes them instead.
_SPLIT_DISAGREES = re.compile("[\x0b\x0c\x1c-\x1f\x85]")
_METASPACE = "\u2581"


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
        word_cache_size: Words whose ids are kept (200,000 take about 80 MB); the cache is emptied
            when it outgrows this.
    """

    def __init__(
        self, model_path: str, batch_size: int = 4096, normalize: bool = True, word_cache_size: int = 200_000
    ) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.model_path = model_path
        folder = Path(model_path)
        weights = load_file(str(folder / "model.safetensors"))
        if len(weights) != 1:
            raise ValueError(f"{folder}/model.safetensors holds {sorted(weights)}, expected one embedding")
        stored = next(iter(weights.values()))
        # Float16 weights (the distilled encoders') are widened to float32 once this process has
        # gathered as many rows as the matrix holds: a single page widens just its own rows (the
        # whole e5-static matrix takes 0.05-0.1 s), a corpus run then reads the float32 copy
        # (widening rows while adding them doubled a large batch's sums). Widening is exact either way.
        self._float16 = stored if stored.dtype == np.float16 else None
        self._float32 = None if self._float16 is not None else stored.astype(np.float32, copy=False)
        self._rows_gathered = 0
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.batch_size = batch_size
        self.normalize = normalize
        self.word_cache_size = word_cache_size
        self._word_ids: dict[str, list[int]] = {}
        self._max_tokens = _right_truncation(self.tokenizer)
        self._word_path = _word_path(self.tokenizer) if self._max_tokens is not None else None

    @property
    def fingerprint(self) -> str:
        return model_fingerprint(self.model_path)

    @property
    def dimension(self) -> int:
        return int(self._rows().shape[1])

    @property
    def embedding(self) -> np.ndarray:
        """The (vocabulary, dimension) float32 matrix."""
        if self._float32 is None:
            assert self._float16 is not None
            self._float32 = self._float16.astype(np.float32)
        return self._float32

    def _rows(self) -> np.ndarray:
        """The matrix rows are gathered from: float32, or float16 until widening it pays."""
        return self._float32 if self._float32 is not None else self._float16  # type: ignore[return-value]

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
        if self._word_path is None:
            return self._tokenized(texts)
        split_words, by_word = self._word_path
        splittable = [by_word(text) for text in texts]
        whole = iter(self._tokenized([text for text, ok in zip(texts, splittable, strict=True) if not ok]))
        by_words = iter(
            self._ids_by_word([text for text, ok in zip(texts, splittable, strict=True) if ok], split_words)
        )
        return [next(by_words) if ok else next(whole) for ok in splittable]

    def _ids_by_word(self, texts: list[str], split_words: Callable[[str], list[str]]) -> list[list[int]]:
        words = [split_words(text) for text in texts]
        if len(self._word_ids) > self.word_cache_size:
            self._word_ids.clear()
        cached = self._word_ids
        unseen = list({word for line in words for word in line if word not in cached})
        cached.update(zip(unseen, self._tokenized(unseen), strict=True))
        limit = self._max_tokens
        return [list(itertools.chain.from_iterable(map(cached.__getitem__, line)))[:limit] for line in words]

    def _tokenized(self, texts: list[str]) -> list[list[int]]:
        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        return [encoding.ids for encoding in encodings]

    def _means(self, texts: list[str]) -> np.ndarray:
        ids = self.token_ids(texts)
        lengths = np.fromiter(map(len, ids), dtype=np.intp, count=len(ids))
        order = np.argsort(-lengths, kind="stable")  # longest first: the texts still adding are a prefix
        sorted_lengths = lengths[order]
        columns = np.fromiter(
            itertools.chain.from_iterable(ids[i] for i in order), dtype=np.intp, count=int(lengths.sum())
        )
        # table[k, p]: the p-th token of the k-th longest text (0 past its end, never read).
        table = np.zeros((len(texts), int(sorted_lengths[0]) if len(texts) else 0), dtype=np.intp)
        starts = np.repeat(np.cumsum(sorted_lengths) - sorted_lengths, sorted_lengths)
        table[np.repeat(np.arange(len(texts)), sorted_lengths), np.arange(columns.size) - starts] = columns
        sums = np.zeros((len(texts), self.dimension), dtype=np.float32)
        self._rows_gathered += len(columns)
        rows = self.embedding if self._rows_gathered > len(self._rows()) else self._rows()
        # Token after token from zero, as a sequential (and scipy's sparse) sum adds them: same float32
        # sums to the bit, which the heads' tree thresholds need (a pairwise order moved p by 0.002).
        for position in range(table.shape[1]):
            adding = int(np.searchsorted(-sorted_lengths, -position, side="left"))
            sums[:adding] += rows[table[:adding, position]]
        means = np.empty_like(sums)
        means[order] = sums / np.maximum(sorted_lengths, 1)[:, None].astype(np.float32)
        return means


def _right_truncation(tokenizer: Any) -> int | None:
    """The token limit of a tokenizer that truncates at the right with no stride (None otherwise)."""
    truncation = tokenizer.truncation
    if truncation is None:
        return sys.maxsize
    if truncation.get("direction") == "right" and not truncation.get("stride"):
        return int(truncation["max_length"])
    return None


def _word_path(tokenizer: Any) -> tuple[Callable[[str], list[str]], Callable[[str], bool]] | None:
    """How to split texts into independently tokenised words, and which texts may be split so.

    None when the tokenizer is of neither known kind (every text then goes to it whole).
    """
    added = [token.content for token in tokenizer.get_added_tokens_decoder().values()]
    if any(any(c.isspace() for c in token) for token in added):
        return None
    normalizer, pre_tokenizer = tokenizer.normalizer, tokenizer.pre_tokenizer
    if (type(normalizer).__name__, type(pre_tokenizer).__name__) == ("BertNormalizer", "BertPreTokenizer"):
        return str.split, _bert_splits_alike
    # Each part's own JSON: the whole tokenizer's (its vocabulary) takes ~0.1 s to parse.
    if (
        not added
        and normalizer is not None
        and pre_tokenizer is not None
        and _is_sentencepiece(json.loads(normalizer.__getstate__()), json.loads(pre_tokenizer.__getstate__()))
    ):
        return _space_separated, _sentencepiece_splits_alike
    return None


def _is_sentencepiece(normalizer: dict[str, Any], pre_tokenizer: dict[str, Any]) -> bool:
    """NFKC (optionally then runs of spaces made one) and a Metaspace pre-tokeniser splitting on `▁`."""
    steps = normalizer.get("normalizers") if normalizer.get("type") == "Sequence" else [normalizer]
    collapse = {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
    return (
        steps in ([{"type": "NFKC"}], [{"type": "NFKC"}, collapse])
        and pre_tokenizer.get("type") == "Metaspace"
        and pre_tokenizer.get("replacement") == _METASPACE
        and pre_tokenizer.get("split") is True
        and pre_tokenizer.get("prepend_scheme") == "always"
    )


def _bert_splits_alike(text: str) -> bool:
    return not _SPLIT_DISAGREES.search(text)


def _space_separated(text: str) -> list[str]:
    return [word for word in text.split(" ") if word]


def _sentencepiece_splits_alike(text: str) -> bool:
    # NFKC text stays as it is (a trailing space would add a lone `▁` token; an own `▁` splits).
    return _METASPACE not in text and not text.endswith(" ") and unicodedata.is_normalized("NFKC", text)

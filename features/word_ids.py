"""Token ids of texts made of independently tokenised words, each word's ids cached.

A corpus repeats its words endlessly, and for the tokenizers the static encoder runs a text's ids
are its words' ids in order, so only words not seen before reach the tokenizer. The ids come out
as one flat array with each text's length: building a list per text cost more than tokenising.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np


class WordIds:
    """Cache of word → token ids, and the flat ids of texts given as words.

    Args:
        tokenize: Ids of each of a list of words (called with unseen words only).
        max_tokens: Ids kept per text (a tokenizer's right truncation; `sys.maxsize` for none).
        cache_size: Words kept; the cache is emptied when it outgrows this.
    """

    def __init__(
        self, tokenize: Callable[[list[str]], list[list[int]]], max_tokens: int, cache_size: int
    ) -> None:
        self.tokenize = tokenize
        self.max_tokens = max_tokens
        self.cache_size = cache_size
        self.cached: dict[str, list[int]] = {}

    def flat(self, words: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """The ids of texts given as their words, concatenated, and each text's number of ids."""
        if len(self.cached) > self.cache_size:
            self.cached.clear()
        all_words = list(itertools.chain.from_iterable(words))
        unseen = [word for word in set(all_words) if word not in self.cached]
        if unseen:
            self.cached.update(zip(unseen, self.tokenize(unseen), strict=True))
        per_word = list(map(self.cached.__getitem__, all_words))
        word_lengths = np.fromiter(map(len, per_word), dtype=np.intp, count=len(per_word))
        total = int(word_lengths.sum())
        ids = np.fromiter(itertools.chain.from_iterable(per_word), dtype=np.intp, count=total)
        ends = np.cumsum(np.fromiter(map(len, words), dtype=np.intp, count=len(words)))
        bounds = np.concatenate([[0], np.cumsum(word_lengths)])[np.concatenate([[0], ends])]
        lengths = np.diff(bounds)
        if lengths.size and lengths.max() > self.max_tokens:
            position = np.arange(ids.size) - np.repeat(bounds[:-1], lengths)
            ids, lengths = ids[position < self.max_tokens], np.minimum(lengths, self.max_tokens)
        return ids, lengths


def split_flat(ids: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    """Flat ids and per-text lengths back to one list of ids per text."""
    return [part.tolist() for part in np.split(ids, np.cumsum(lengths)[:-1])] if lengths.size else []

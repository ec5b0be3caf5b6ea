"""Token ids of texts made of independently tokenised words, each word's ids cached.

A corpus repeats its words endlessly, and for the tokenizers the static encoder runs a text's ids
are its words' ids in order, so only words not seen before reach the tokenizer. The cached ids
live in one numpy array (each word a slice of it), so a batch's ids are gathered with a few numpy
steps and come out as one flat array with each text's length: building a list per text, or
chaining the words' lists, cost more than tokenising.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np


class WordIds:
    """Cache of word → token ids, and the flat ids of texts given as their words.

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
        self.clear()

    def clear(self) -> None:
        """Forget every cached word."""
        self.index: dict[str, int] = {}
        """Cached word → its number; its ids are `_ids[_starts[k] : _starts[k] + _lengths[k]]`."""
        self._ids = np.zeros(0, dtype=np.intp)
        self._starts = np.zeros(0, dtype=np.intp)
        self._lengths = np.zeros(0, dtype=np.intp)

    def flat(self, words: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """The ids of texts given as their words, concatenated, and each text's number of ids."""
        if len(self.index) > self.cache_size:
            self.clear()
        all_words = list(itertools.chain.from_iterable(words))
        unseen = [word for word in set(all_words) if word not in self.index]
        if unseen:
            self._add(unseen, self.tokenize(unseen))
        number = np.fromiter(map(self.index.__getitem__, all_words), dtype=np.intp, count=len(all_words))
        word_lengths = self._lengths[number]
        ids = self._ids[np.repeat(self._starts[number], word_lengths) + positions_within(word_lengths)]
        text_ends = np.cumsum(np.fromiter(map(len, words), dtype=np.intp, count=len(words)))
        bounds = np.concatenate([[0], np.cumsum(word_lengths)])[np.concatenate([[0], text_ends])]
        lengths = np.diff(bounds)
        if lengths.size and lengths.max() > self.max_tokens:
            kept = positions_within(lengths) < self.max_tokens
            ids, lengths = ids[kept], np.minimum(lengths, self.max_tokens)
        return ids, lengths

    def _add(self, words: list[str], ids: list[list[int]]) -> None:
        lengths = np.fromiter(map(len, ids), dtype=np.intp, count=len(ids))
        new_ids = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.intp, count=int(lengths.sum()))
        self.index.update(zip(words, range(len(self.index), len(self.index) + len(words)), strict=True))
        self._starts = np.concatenate([self._starts, self._ids.size + np.cumsum(lengths) - lengths])
        self._lengths = np.concatenate([self._lengths, lengths])
        self._ids = np.concatenate([self._ids, new_ids])


def positions_within(lengths: np.ndarray) -> np.ndarray:
    """For runs of `lengths` laid end to end, each element's position inside its own run."""
    ends = np.cumsum(lengths)
    return np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(ends - lengths, lengths)


def split_flat(ids: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    """Flat ids and per-text lengths back to one list of ids per text."""
    return [part.tolist() for part in np.split(ids, np.cumsum(lengths)[:-1])] if lengths.size else []

"""The word cache hands out each word's ids, tokenises a word only when it is new, and stays bounded."""

from __future__ import annotations

import sys

from storysplit.features.word_ids import WordIds, split_flat


class CountingTokenizer:
    """Ids of a word: its characters' code points; records the words it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, words: list[str]) -> list[list[int]]:
        self.asked += words
        return [[ord(ch) for ch in word] for word in words]


def _ids(cache: WordIds, texts: list[list[str]]) -> list[list[int]]:
    return split_flat(*cache.flat(texts))


def test_texts_get_their_words_ids_in_order_each_word_tokenised_once() -> None:
    tokenizer = CountingTokenizer()
    cache = WordIds(tokenizer, sys.maxsize, cache_size=100)
    texts = [["ab", "c"], [], ["c", "ab", "ab"]]
    assert _ids(cache, texts) == [[97, 98, 99], [], [99, 97, 98, 97, 98]]
    assert sorted(tokenizer.asked) == ["ab", "c"]
    assert _ids(cache, [["c", "d"]]) == [[99, 100]]
    assert sorted(tokenizer.asked) == ["ab", "c", "d"]  # only the new word


def test_ids_past_the_limit_are_cut_per_text() -> None:
    cache = WordIds(CountingTokenizer(), max_tokens=3, cache_size=100)
    assert _ids(cache, [["ab", "cd"], ["a"]]) == [[97, 98, 99], [97]]


def test_a_cache_that_outgrows_its_size_starts_again() -> None:
    tokenizer = CountingTokenizer()
    cache = WordIds(tokenizer, sys.maxsize, cache_size=2)
    cache.flat([["a", "b", "c"]])  # three words: over the size once the call is done
    cache.flat([["a"]])  # emptied first, so "a" is tokenised again
    assert tokenizer.asked.count("a") == 2
    cache.flat([["a"]])
    assert tokenizer.asked.count("a") == 2


def test_clearing_forgets_every_word() -> None:
    tokenizer = CountingTokenizer()
    cache = WordIds(tokenizer, sys.maxsize, cache_size=100)
    cache.flat([["a", "b"]])
    cache.clear()
    assert _ids(cache, [["b", "a"]]) == [[98, 97]]
    assert sorted(tokenizer.asked) == ["a", "a", "b", "b"]

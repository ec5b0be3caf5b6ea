from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storysplit.features import repeats
from storysplit.features.repeats import (
    SCAN_LIMIT,
    KeptTexts,
    ShingleIndex,
    _contained_by_index,
    _contained_by_scan,
    contained_in_longer,
    drop_repeats,
)

# One word that takes a set of texts over `SCAN_LIMIT` characters without being indexed or matched.
_PADDING = "z" * (SCAN_LIMIT + 1)


def test_containment_is_found_at_word_boundaries_only() -> None:
    keys = [
        "listen to article the story begins here today",
        "the story begins here today",
        "he story begins here today",
        "short one",
        "the story begins here today",
    ]
    assert contained_in_longer(keys, min_words=5) == [False, True, False, False, True]


def test_index_finds_texts_that_hold_a_text_as_whole_words() -> None:
    index = ShingleIndex(["one two three four", "two three four", "three four five", "wo three four"], 3)
    assert index.containers(1) == [0]
    assert index.containers(0) == [] and index.containers(2) == [] and index.containers(3) == []
    assert index.containers(1, among=np.array([False, True, True, True])) == []
    with pytest.raises(ValueError, match="at least 3 words"):
        ShingleIndex(["one two three", "two three"], 3)


def test_many_copies_stay_cheap() -> None:
    keys = ["the same long sentence is repeated here again"] * 5000 + [
        "a longer line: the same long sentence is repeated here again"
    ]
    flags = contained_in_longer(keys, min_words=5)
    assert all(flags[:5000]) and not flags[-1]


class _CountingList(list[str]):
    """A list that counts reads by index, to see how many candidates a look-up inspects."""

    reads = 0

    def __getitem__(self, index: Any) -> Any:
        _CountingList.reads += 1
        return super().__getitem__(index)


def test_candidates_come_from_the_rarest_shingle() -> None:
    # Lines sharing their first words ("posted by ... on") made every look-up scan all of them.
    texts = [f"posted by reporter {number} on monday" for number in range(2000)]
    index = ShingleIndex([*texts, "posted by reporter 1234 on", "posted by reporter"], 3)
    index.texts = _CountingList(index.texts)
    _CountingList.reads = 0
    assert index.containers(2000) == [1234]
    assert _CountingList.reads == 2  # the text looked up and its one candidate
    assert index.containers(2001) == list(range(2001))


def test_look_ups_read_a_bounded_number_of_texts_per_text() -> None:
    words = [f"w{number}" for number in range(40_000)]
    texts = [" ".join(words[i : i + 8]) for i in range(0, len(words), 8)]
    texts += [" ".join(words[i + 2 : i + 7]) for i in range(0, len(words), 80)]  # held by another
    index = ShingleIndex(texts, 5)
    index.texts = _CountingList(index.texts)
    _CountingList.reads = 0
    found = [index.containers(number) for number in range(len(texts))]
    assert found == [[]] * 5000 + [[i] for i in range(0, 5000, 10)]
    assert _CountingList.reads <= 2 * len(texts)


_WORDS = st.sampled_from(["the", "story", "begins", "here", "today", "read", "more", "x"])
_KEYS = st.lists(st.lists(_WORDS, max_size=9).map(" ".join), max_size=30)


@settings(max_examples=200, deadline=None)
@given(_KEYS)
def test_scanning_and_the_index_agree(keys: list[str]) -> None:
    unique = list(dict.fromkeys(k for k in keys if k.count(" ") + 1 >= 3))
    assert _contained_by_scan(unique) == _contained_by_index(unique, 3)
    scanned, indexed = KeptTexts(keys, 3), KeptTexts([*keys, _PADDING], 3)
    for key in keys:
        if key.count(" ") + 1 >= 3:
            assert scanned.contains(key) == indexed.contains(key)
        scanned.add(key)
        indexed.add(key)


@settings(max_examples=200, deadline=None)
@given(_KEYS, st.integers(0, 2**32 - 1), st.integers(1, 5))
def test_repeats_dropped_are_the_same_with_the_index(keys: list[str], seed: int, min_words: int) -> None:
    probabilities = np.random.default_rng(seed).random(len(keys))
    scanned = drop_repeats(keys, probabilities, 0.4, min_words)
    with mock.patch.object(repeats, "SCAN_LIMIT", -1):
        indexed = drop_repeats(keys, probabilities, 0.4, min_words)
    np.testing.assert_array_equal(scanned, indexed)


def test_large_documents_use_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_scan(unique: list[str]) -> set[str]:
        raise AssertionError("scanned a large document")

    monkeypatch.setattr(repeats, "_contained_by_scan", no_scan)
    keys = [f"sentence number {i} of a very long flattened page" for i in range(2000)]
    assert sum(map(len, keys)) > SCAN_LIMIT
    assert not any(contained_in_longer(keys, min_words=5))

from __future__ import annotations

from typing import Any

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
)


def test_containment_is_found_at_word_boundaries_only() -> None:
    keys = [
        "listen to article the story begins here today",
        "the story begins here today",
        "he story begins here today",
        "short one",
        "the story begins here today",
    ]
    assert contained_in_longer(keys, min_words=5) == [False, True, False, False, True]


def test_index_needs_keys_as_long_as_its_shingles() -> None:
    index = ShingleIndex(3)
    index.add("one two three four")
    assert index.containers("two three four") == [0]
    assert index.containers("three four five") == []
    with pytest.raises(ValueError, match="at least 3"):
        index.containers("two three")


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
    index = ShingleIndex(3)
    for number in range(2000):
        index.add(f"posted by reporter {number} on monday")
    index.texts = _CountingList(index.texts)
    assert index.containers("posted by reporter 1234 on") == [1234]
    assert _CountingList.reads == 1
    assert index.containers("posted by reporter") == list(range(2000))


_WORDS = st.sampled_from(["the", "story", "begins", "here", "today", "read", "more", "x"])
_KEYS = st.lists(st.lists(_WORDS, max_size=9).map(" ".join), max_size=30)


@settings(max_examples=200, deadline=None)
@given(_KEYS)
def test_scanning_and_the_index_agree(keys: list[str]) -> None:
    unique = list(dict.fromkeys(k for k in keys if k.count(" ") + 1 >= 3))
    assert _contained_by_scan(unique) == _contained_by_index(unique, 3)
    scanned, indexed = KeptTexts(3, 0), KeptTexts(3, SCAN_LIMIT + 1)
    for key in keys:
        if key.count(" ") + 1 >= 3:
            assert scanned.contains(key) == indexed.contains(key)
        scanned.add(key)
        indexed.add(key)


def test_large_documents_use_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_scan(unique: list[str]) -> set[str]:
        raise AssertionError("scanned a large document")

    monkeypatch.setattr(repeats, "_contained_by_scan", no_scan)
    keys = [f"sentence number {i} of a very long flattened page" for i in range(2000)]
    assert sum(map(len, keys)) > SCAN_LIMIT
    assert not any(contained_in_longer(keys, min_words=5))

from __future__ import annotations

from typing import Any

import pytest

from features.repeats import ShingleIndex, contained_in_longer


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

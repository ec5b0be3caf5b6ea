"""Repeats of kept segments are dropped after labelling; the first kept copy stays."""

from __future__ import annotations

import numpy as np

from storysplit.features.repeats import drop_repeats


def test_repeats_of_kept_segments_are_dropped_first_copy_stays() -> None:
    keys = [
        "the story begins here today",
        "menu",
        "the story begins here today",
        "menu",
        "listen to article the story begins here today and more",
        "begins here today",
    ]
    p = np.array([0.9, 0.2, 0.9, 0.2, 0.9, 0.9])
    out = drop_repeats(keys, p, threshold=0.5)
    np.testing.assert_allclose(out, [0.9, 0.2, 0.0, 0.2, 0.9, 0.9])


def test_a_repeat_whose_first_copy_was_dropped_is_kept() -> None:
    keys = ["a paragraph the model dropped first", "a paragraph the model dropped first"]
    out = drop_repeats(keys, np.array([0.1, 0.8]), threshold=0.5)
    np.testing.assert_allclose(out, [0.1, 0.8])


def test_contained_text_counts_only_from_min_words() -> None:
    keys = ["one two three four five six", "two three", "two three four five"]
    out = drop_repeats(keys, np.array([0.9, 0.9, 0.9]), threshold=0.5, min_words=4)
    np.testing.assert_allclose(out, [0.9, 0.9, 0.0])

"""Token and segment metrics on hand-made cases with exact numbers."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from storysplit.evaluation.data import SegmentGold
from storysplit.evaluation.metrics import (
    Counts,
    bag_of_words,
    kind_outcomes,
    pooled_segment_scores,
    segment_counts,
    token_counts,
    weighted_segment_counts,
)
from storysplit.labels import SegmentKind, SegmentLabel

MAIN, BOILER = SegmentLabel.MAIN, SegmentLabel.BOILERPLATE


def test_bag_of_words_lowercases_unicode_words_and_counts_repeats() -> None:
    assert bag_of_words("The cat, the CAT! Naïve 42-x") == Counter(
        {"the": 2, "cat": 2, "naïve": 1, "42": 1, "x": 1}
    )


def test_token_scores_use_multiset_overlap() -> None:
    counts = token_counts(bag_of_words("a b c d"), bag_of_words("a b e"))
    assert counts == Counts(2, 2, 1)
    assert counts.precision == pytest.approx(0.5)
    assert counts.recall == pytest.approx(2 / 3)
    assert counts.f1 == pytest.approx(4 / 7)


def test_repeated_tokens_count_once_per_occurrence() -> None:
    counts = token_counts(bag_of_words("a a a"), bag_of_words("a"))
    assert (counts.tp, counts.fp, counts.fn) == (1, 2, 0)
    assert counts.precision == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("predicted", "reference", "expected"),
    [("", "", (1.0, 1.0, 1.0)), ("", "a b", (0.0, 0.0, 0.0)), ("a b", "", (0.0, 0.0, 0.0))],
)
def test_empty_sides(predicted: str, reference: str, expected: tuple[float, float, float]) -> None:
    counts = token_counts(bag_of_words(predicted), bag_of_words(reference))
    assert (counts.precision, counts.recall, counts.f1) == expected


def test_segment_counts_weigh_segments_and_skip_weight_zero() -> None:
    gold = [
        SegmentGold(MAIN, SegmentKind.BODY, 1.0),
        SegmentGold(MAIN, SegmentKind.HEADLINE, 0.5),
        SegmentGold(BOILER, SegmentKind.MENU, 1.0),
        SegmentGold(BOILER, SegmentKind.RELATED, 1.0),
        SegmentGold(BOILER, SegmentKind.UNKNOWN, 0.0),
    ]
    counts = segment_counts(gold, np.array([True, False, True, False, True]))
    assert counts.main == Counts(1.0, 1.0, 0.5)
    assert counts.boilerplate == Counts(1.0, 0.5, 1.0)
    assert counts.main.precision == pytest.approx(0.5)
    assert counts.main.recall == pytest.approx(1 / 1.5)
    assert counts.accuracy == pytest.approx(2 / 3.5)


def test_kind_outcomes_count_dropped_boilerplate_and_kept_main() -> None:
    gold = [
        SegmentGold(BOILER, SegmentKind.RELATED, 1.0),
        SegmentGold(BOILER, SegmentKind.RELATED, 1.0),
        SegmentGold(BOILER, SegmentKind.RELATED, 1.0),
        SegmentGold(MAIN, SegmentKind.HEADLINE, 1.0),
        SegmentGold(BOILER, SegmentKind.MENU, 0.0),
    ]
    outcomes = kind_outcomes(gold, np.array([False, True, False, False, True]))
    assert outcomes == {(BOILER, SegmentKind.RELATED): (2.0, 3.0), (MAIN, SegmentKind.HEADLINE): (0.0, 1.0)}


@pytest.mark.parametrize("seed", range(5))
def test_pooled_segment_scores_are_the_weighted_scores_scikit_learn_gives(seed: int) -> None:
    """Training's logged split scores (once `train.scoring`, with scikit-learn) keep their values."""
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    truth = rng.random(500) < 0.4
    keep = rng.random(500) < 0.5
    weights = rng.choice([0.0, 0.5, 1.0], size=500).astype(np.float32)
    scores = pooled_segment_scores(weighted_segment_counts(truth, weights, keep))
    rows = weights > 0
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        truth[rows], keep[rows], average="binary", sample_weight=weights[rows], zero_division=0
    )
    accuracy = metrics.accuracy_score(truth[rows], keep[rows], sample_weight=weights[rows])
    assert scores == pytest.approx(
        {
            "segment_accuracy_micro": accuracy,
            "segment_main_precision_micro": precision,
            "segment_main_recall_micro": recall,
            "segment_main_f1_micro": f1,
        },
        rel=1e-12,
    )


def test_weighted_counts_from_arrays_equal_counts_from_gold() -> None:
    gold = [
        SegmentGold(MAIN, SegmentKind.UNKNOWN, 1.0),
        SegmentGold(BOILER, SegmentKind.UNKNOWN, 0.5),
        SegmentGold(MAIN, SegmentKind.UNKNOWN, 0.0),
    ]
    keep = np.array([True, True, False])
    arrays = weighted_segment_counts(np.array([True, False, True]), np.array([1.0, 0.5, 0.0]), keep)
    assert arrays == segment_counts(gold, keep)

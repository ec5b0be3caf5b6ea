"""Scores of extractions: bag-of-words tokens against the reference, and segment labels against gold.

The one home of these numbers: `storysplit evaluate`, its report and gate, the leave-one-source-out
folds and the scores `storysplit train` logs for its splits are all computed here, so a metric of
one name means one computation. Names ending in `_micro` pool the counts of all documents (a long
page weighs more); the others are means over documents (`evaluation.summary`).

Token scores follow web content extraction benchmarks (CleanEval, WCEB, trafilatura's evaluation):
both texts become multisets of lowercase words (`\\w+` runs, and each Chinese or Japanese
character on its own: `features.words`) and the overlap counts each token as often as it occurs
in both. They compare with the row's `reference_text`, so they also apply to methods that never
see our segments (the HTML extractors).

Every ratio uses one convention: when nothing was to be found and nothing was returned the score is
perfect (1.0); any other zero denominator scores 0.0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from storysplit.evaluation.data import SegmentGold
from storysplit.features.words import words
from storysplit.labels import SegmentKind, SegmentLabel


@dataclass(frozen=True, slots=True)
class Counts:
    """True positives, false positives and false negatives (weighted for segments, counted for tokens)."""

    tp: float
    fp: float
    fn: float

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp, self.is_empty)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn, self.is_empty)

    @property
    def f1(self) -> float:
        if self.is_empty:
            return 1.0
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn, False)

    @property
    def is_empty(self) -> bool:
        return self.tp == 0 and self.fp == 0 and self.fn == 0


@dataclass(frozen=True, slots=True)
class SegmentCounts:
    """Weighted confusion counts of one document's segments (weight-0 segments left out)."""

    main: Counts
    boilerplate: Counts
    correct: float
    total: float

    def __add__(self, other: SegmentCounts) -> SegmentCounts:
        return SegmentCounts(
            self.main + other.main,
            self.boilerplate + other.boilerplate,
            self.correct + other.correct,
            self.total + other.total,
        )

    @property
    def accuracy(self) -> float:
        return _ratio(self.correct, self.total, self.total == 0)


EMPTY_SEGMENT_COUNTS = SegmentCounts(Counts(0, 0, 0), Counts(0, 0, 0), 0.0, 0.0)


def bag_of_words(text: str) -> Counter[str]:
    """Lowercase word tokens of `text` (CJK characters one by one, `features.words`) with their counts."""
    return Counter(words(text))


def token_counts(predicted: Counter[str], reference: Counter[str]) -> Counts:
    """Multiset overlap of two bags of words."""
    overlap = sum((predicted & reference).values())
    return Counts(overlap, predicted.total() - overlap, reference.total() - overlap)


def segment_counts(gold: Sequence[SegmentGold], keep: np.ndarray) -> SegmentCounts:
    """Weighted confusion of kept/dropped decisions against gold labels.

    Args:
        gold: Gold per segment, shape (n,).
        keep: Boolean decisions per segment, shape (n,): True keeps it as main.
    """
    weights = np.array([g.weight for g in gold], dtype=np.float64)
    is_main = np.array([g.label is SegmentLabel.MAIN for g in gold], dtype=bool)
    return weighted_segment_counts(is_main, weights, keep)


def weighted_segment_counts(is_main: np.ndarray, weights: np.ndarray, keep: np.ndarray) -> SegmentCounts:
    """`segment_counts` from arrays: the gold as booleans and weights, as training holds it.

    Args:
        is_main: Whether each segment is main text in the gold, shape (n,).
        weights: Gold weight of each segment, shape (n,); weight 0 leaves a segment out.
        keep: Boolean decisions per segment, shape (n,): True keeps it as main.
    """
    weights = np.asarray(weights, dtype=np.float64)
    is_main = np.asarray(is_main, dtype=bool)
    kept = np.asarray(keep, dtype=bool)
    main_tp = float(weights[is_main & kept].sum())
    main_fp = float(weights[~is_main & kept].sum())
    main_fn = float(weights[is_main & ~kept].sum())
    boiler_tp = float(weights[~is_main & ~kept].sum())
    return SegmentCounts(
        main=Counts(main_tp, main_fp, main_fn),
        boilerplate=Counts(boiler_tp, main_fn, main_fp),
        correct=main_tp + boiler_tp,
        total=float(weights.sum()),
    )


def pooled_segment_scores(counts: SegmentCounts) -> dict[str, float]:
    """Segment accuracy and main-class precision, recall and F1 of counts pooled over documents.

    Named with `_micro`, as `evaluation.summary.SegmentSummary` names its pooled scores, so that they
    are never confused with the per-document means the evaluation report logs without the suffix.
    """
    return {
        "segment_accuracy_micro": counts.accuracy,
        "segment_main_precision_micro": counts.main.precision,
        "segment_main_recall_micro": counts.main.recall,
        "segment_main_f1_micro": counts.main.f1,
    }


def kind_outcomes(
    gold: Sequence[SegmentGold], keep: np.ndarray
) -> dict[tuple[SegmentLabel, SegmentKind], tuple[float, float]]:
    """Per (label, kind): (weight handled right, total weight).

    "Right" is dropped for boilerplate and kept for main, so the ratio is per-kind recall: how
    much of the related teasers were dropped, how many headlines were kept.
    """
    outcomes: dict[tuple[SegmentLabel, SegmentKind], tuple[float, float]] = {}
    for item, kept in zip(gold, np.asarray(keep, dtype=bool), strict=True):
        if item.weight <= 0:
            continue
        right = item.weight if bool(kept) == (item.label is SegmentLabel.MAIN) else 0.0
        done, total = outcomes.get((item.label, item.kind), (0.0, 0.0))
        outcomes[(item.label, item.kind)] = (done + right, total + item.weight)
    return outcomes


KIND_GROUPS = {
    SegmentKind.COMMENTS: "comments",
    SegmentKind.RELATED: "related/lists",
    SegmentKind.MENU: "related/lists",
}
"""Boilerplate kinds grouped as the page-structure work reports them; every other kind is `other`."""
OTHER_KINDS = "other"


def kept_boilerplate_words(
    gold: Sequence[SegmentGold], segment_bags: Sequence[Counter[str]], keep: np.ndarray
) -> dict[str, tuple[int, int]]:
    """Per group of boilerplate kinds (`KIND_GROUPS`): (words kept, words in all) of the document's
    boilerplate segments (ambiguous ones left out): which kinds of boilerplate a method lets through."""
    words_by_group: dict[str, tuple[int, int]] = {}
    for item, bag, kept in zip(gold, segment_bags, np.asarray(keep, dtype=bool), strict=True):
        if item.label is SegmentLabel.MAIN or item.weight <= 0:
            continue
        group = KIND_GROUPS.get(item.kind, OTHER_KINDS)
        size = sum(bag.values())
        done, total = words_by_group.get(group, (0, 0))
        words_by_group[group] = (done + (size if kept else 0), total + size)
    return words_by_group


def _ratio(numerator: float, denominator: float, empty: bool) -> float:
    if empty:
        return 1.0
    return numerator / denominator if denominator > 0 else 0.0

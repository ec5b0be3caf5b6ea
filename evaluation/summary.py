"""Averages of per-document results: macro over documents (each page counts once) and micro (pooled).

Macro token F1 is the headline number: a user reads pages one at a time, and a long page should
not hide ten short ones that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce

import numpy as np

from storysplit.evaluation.metrics import EMPTY_SEGMENT_COUNTS, Counts, segment_counts, token_counts
from storysplit.evaluation.runner import DocumentResult, MethodResult
from storysplit.labels import SegmentKind, SegmentLabel

GOOD_DOCUMENT_F1 = 0.9


@dataclass(frozen=True, slots=True)
class SegmentSummary:
    """Segment-level scores, macro and micro; None where the method has no segments (HTML)."""

    main_precision: float
    main_recall: float
    main_f1: float
    boilerplate_precision: float
    boilerplate_recall: float
    boilerplate_f1: float
    accuracy: float
    main_f1_micro: float
    boilerplate_f1_micro: float
    accuracy_micro: float


@dataclass(frozen=True, slots=True)
class Summary:
    """Scores of one method over a group of documents."""

    documents: int
    token_precision: float
    token_recall: float
    token_f1: float
    token_f1_micro: float
    good_share: float
    segments: SegmentSummary | None
    kind_recall: dict[tuple[SegmentLabel, SegmentKind], float] = field(default_factory=dict)

    def headline(self) -> dict[str, float]:
        """The numbers worth tracking run to run, flat and named."""
        numbers = {
            "token_f1": self.token_f1,
            "token_precision": self.token_precision,
            "token_recall": self.token_recall,
            "token_f1_micro": self.token_f1_micro,
            "good_share": self.good_share,
        }
        if self.segments is not None:
            numbers["segment_main_f1"] = self.segments.main_f1
            numbers["segment_boilerplate_f1"] = self.segments.boilerplate_f1
            numbers["segment_accuracy"] = self.segments.accuracy
        return numbers


def summarize(results: Sequence[DocumentResult]) -> Summary:
    """Macro and micro averages over `results` (one method, any group of documents)."""
    if not results:
        raise ValueError("cannot summarise zero documents")
    tokens = [r.tokens for r in results]
    pooled = reduce(lambda a, b: a + b, tokens)
    return Summary(
        documents=len(results),
        token_precision=_mean(t.precision for t in tokens),
        token_recall=_mean(t.recall for t in tokens),
        token_f1=_mean(t.f1 for t in tokens),
        token_f1_micro=pooled.f1,
        good_share=_mean(float(t.f1 >= GOOD_DOCUMENT_F1) for t in tokens),
        segments=_segment_summary(results),
        kind_recall=_kind_recall(results),
    )


def summarize_by(result: MethodResult, key: Callable[[DocumentResult], str]) -> dict[str, Summary]:
    """Summaries per group (e.g. per source or renderer), groups sorted by name."""
    groups: dict[str, list[DocumentResult]] = {}
    for document in result.documents:
        groups.setdefault(key(document), []).append(document)
    return {name: summarize(groups[name]) for name in sorted(groups)}


@dataclass(frozen=True, slots=True)
class SiteInterval:
    """A mean over pages and its 95 % interval when whole sites are drawn again."""

    sites: int
    mean: float
    low: float
    high: float


def site_interval(
    sites: Sequence[str], scores: Sequence[float], draws: int = 2000, seed: int = 0
) -> SiteInterval | None:
    """The mean of `scores` (one per page) and its percentile bootstrap interval over sites.

    A crawl's pages share their site's template and stand or fall together, so a figure over crawls
    is as uncertain as its number of sites, not of pages: each draw takes as many sites as there
    are, with replacement, and averages the pages of the sites drawn. None below two sites.
    """
    if len(sites) != len(scores):
        raise ValueError(f"{len(sites)} sites for {len(scores)} scores")
    names = sorted(set(sites))
    if len(names) < 2:
        return None
    index = {name: number for number, name in enumerate(names)}
    site_of = np.fromiter((index[site] for site in sites), dtype=np.intp, count=len(sites))
    values = np.asarray(scores, dtype=np.float64)
    sums = np.bincount(site_of, weights=values, minlength=len(names))
    pages = np.bincount(site_of, minlength=len(names)).astype(np.float64)
    drawn = np.random.default_rng(seed).integers(0, len(names), size=(draws, len(names)))
    means = sums[drawn].sum(axis=1) / pages[drawn].sum(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return SiteInterval(len(names), float(values.mean()), float(low), float(high))


def by_source(document: DocumentResult) -> str:
    return document.document.source


def by_renderer(document: DocumentResult) -> str:
    return document.document.renderer


def by_language(document: DocumentResult) -> str:
    return document.document.language or "unknown"


@dataclass(frozen=True, slots=True)
class ThresholdPoint:
    """Scores of a graded method when segments with p(main) >= threshold are kept."""

    threshold: float
    token_precision: float
    token_recall: float
    token_f1: float
    segment_precision: float
    segment_recall: float


def threshold_sweep(result: MethodResult, thresholds: Sequence[float]) -> list[ThresholdPoint]:
    """Token (macro) and segment (micro) precision/recall of `result` at each threshold.

    Args:
        result: A text method's result (decisions carry the probabilities).
        thresholds: Cut-offs to try, e.g. 0.05, 0.10, ..., 0.95.
    """
    points = []
    for threshold in thresholds:
        counts: list[Counts] = []
        pooled = EMPTY_SEGMENT_COUNTS
        for document in result.documents:
            if document.decisions is None:
                raise ValueError(f"{result.name} has no segment probabilities to sweep")
            keep = document.decisions.probabilities >= threshold
            prepared = document.prepared
            counts.append(token_counts(prepared.kept_bag(keep), prepared.reference_bag))
            pooled = pooled + segment_counts(prepared.gold, keep)
        points.append(
            ThresholdPoint(
                threshold=float(threshold),
                token_precision=_mean(c.precision for c in counts),
                token_recall=_mean(c.recall for c in counts),
                token_f1=_mean(c.f1 for c in counts),
                segment_precision=pooled.main.precision,
                segment_recall=pooled.main.recall,
            )
        )
    return points


def operating_point(result: MethodResult) -> ThresholdPoint:
    """Where a method without a threshold lands, on the axes of `threshold_sweep`.

    A rule's probabilities are its 0/1 decisions, so a sweep at 0.5 scores exactly what it keeps;
    an HTML extractor has no segments (NaN segment scores) and is scored on its documents only.
    """
    if all(document.decisions is not None for document in result.documents):
        return threshold_sweep(result, [0.5])[0]
    summary = summarize(result.documents)
    nan = float("nan")
    return ThresholdPoint(nan, summary.token_precision, summary.token_recall, summary.token_f1, nan, nan)


def _segment_summary(results: Sequence[DocumentResult]) -> SegmentSummary | None:
    counts = [r.segments for r in results if r.segments is not None]
    if not counts:
        return None
    pooled = reduce(lambda a, b: a + b, counts)
    return SegmentSummary(
        main_precision=_mean(c.main.precision for c in counts),
        main_recall=_mean(c.main.recall for c in counts),
        main_f1=_mean(c.main.f1 for c in counts),
        boilerplate_precision=_mean(c.boilerplate.precision for c in counts),
        boilerplate_recall=_mean(c.boilerplate.recall for c in counts),
        boilerplate_f1=_mean(c.boilerplate.f1 for c in counts),
        accuracy=_mean(c.accuracy for c in counts),
        main_f1_micro=pooled.main.f1,
        boilerplate_f1_micro=pooled.boilerplate.f1,
        accuracy_micro=pooled.accuracy,
    )


def _kind_recall(results: Iterable[DocumentResult]) -> dict[tuple[SegmentLabel, SegmentKind], float]:
    """Pooled share of each (label, kind) handled right; pooled because most pages lack most kinds."""
    totals: dict[tuple[SegmentLabel, SegmentKind], tuple[float, float]] = {}
    for result in results:
        for key, (right, total) in (result.kinds or {}).items():
            done, seen = totals.get(key, (0.0, 0.0))
            totals[key] = (done + right, seen + total)
    return {key: right / total for key, (right, total) in sorted(totals.items()) if total > 0}


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return float(np.mean(items)) if items else 0.0

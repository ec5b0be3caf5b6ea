"""The two method interfaces the evaluation compares, and the trained model as one of them.

A `TextMethod` sees what the model sees: the plain text and its `split_document` segments, and
answers per segment a probability of main and a keep decision. Segment, token, per-kind and
threshold metrics all follow from that, for the model and the plain-text baselines alike.

An `HtmlMethod` sees the page's original HTML and returns text; only token metrics apply. It
shows what tools reach when they have the markup our users do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from storysplit.errors import StorysplitError
from storysplit.features.context import repeat_key
from storysplit.features.segmentation import LINE_BREAK, Segment
from storysplit.features.site_evidence import SiteLineCounter, SiteTable, template_rows
from storysplit.labels import SegmentLabel
from storysplit.model import LabelledSegment

MODEL_METHOD_NAME = "model"


@dataclass(frozen=True, slots=True)
class SegmentedText:
    """A document as text methods receive it: its text, segments and crawl (None if unknown)."""

    text: str
    segments: tuple[Segment, ...]
    site: str | None = None


@dataclass(frozen=True, slots=True)
class SegmentDecisions:
    """One document's answer from a text method.

    Attributes:
        probabilities: p(main) per segment, shape (n_segments,); 0/1 for rule baselines.
        keep: the method's own keep decision per segment, bool, shape (n_segments,).
    """

    probabilities: np.ndarray
    keep: np.ndarray

    @classmethod
    def from_keep(cls, keep: Sequence[bool]) -> SegmentDecisions:
        """Decisions of a rule: its probability is its decision."""
        kept = np.asarray(keep, dtype=bool).reshape(-1)
        return cls(kept.astype(np.float64), kept)


class TextMethod(Protocol):
    """Labels the segments of plain-text documents."""

    @property
    def name(self) -> str: ...

    @property
    def graded(self) -> bool:
        """True when probabilities are scores worth a threshold curve and calibration plot."""
        ...

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]: ...


class HtmlMethod(Protocol):
    """Extracts the main text from a page's HTML."""

    @property
    def name(self) -> str: ...

    def extract(self, html: str) -> str: ...


class SegmentingModel(Protocol):
    """What evaluation needs of `storysplit.StorySplitModel` (a fake in tests)."""

    @property
    def max_chars(self) -> int: ...

    def segment_many(
        self,
        texts: Sequence[str],
        threshold: float | None = None,
        sites: Sequence[str | None] | None = None,
        site_table: SiteTable | None = None,
    ) -> list[list[LabelledSegment]]: ...


class SegmentMismatchError(StorysplitError):
    """The model segmented a document differently from `split_document(text, model.max_chars)`."""


class ModelMethod:
    """The trained model as a text method: its p(main) and its own threshold's labels.

    Documents of one crawl (`SegmentedText.site`) give each other site evidence, counted over all
    the documents evaluated, as `storysplit clean --site-field` counts a corpus.

    Args:
        model: A loaded model (or anything with `max_chars` and `segment_many`).
        name: Name in tables and floors.
        batch_size: Documents per `segment_many` call (the model embeds each batch at once).
        sites: Give the model site evidence (False: each page alone).
    """

    graded = True

    def __init__(
        self,
        model: SegmentingModel,
        name: str = MODEL_METHOD_NAME,
        batch_size: int = 64,
        sites: bool = True,
    ) -> None:
        self.model = model
        self.name = name
        self.batch_size = batch_size
        self.sites = sites

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        with_sites = self.sites and any(d.site is not None for d in documents)
        table = site_table_of(documents) if with_sites else None
        decisions: list[SegmentDecisions] = []
        for first in range(0, len(documents), self.batch_size):
            batch = documents[first : first + self.batch_size]
            texts = [d.text for d in batch]
            labelled = (
                self.model.segment_many(texts, sites=[d.site for d in batch], site_table=table)
                if table is not None
                else self.model.segment_many(texts)
            )
            for document, segments in zip(batch, labelled, strict=True):
                _check_alignment(document, segments)
                decisions.append(
                    SegmentDecisions(
                        np.array([s.probability for s in segments], dtype=np.float64),
                        np.array([s.label is SegmentLabel.MAIN for s in segments], dtype=bool),
                    )
                )
        return decisions


class SiteLineRule(ModelMethod):
    """The model on each page alone, then a hand rule: drop kept lines that recur on at least half
    of the crawl's other pages (`features.site_evidence.template_rows`). The crude use of site
    evidence the learned one must beat; the shipped decision applies the same rule after it.
    """

    def __init__(self, model: SegmentingModel, name: str = "model_site_rule") -> None:
        super().__init__(model, name, sites=False)

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        table = site_table_of(documents)
        decisions = super().decide(documents)
        for index, (document, decision) in enumerate(zip(documents, decisions, strict=True)):
            keys = [repeat_key(segment.text) for segment in document.segments]
            keep = decision.keep & ~template_rows(table.evidence(document.site, keys))
            decisions[index] = SegmentDecisions(np.where(keep, decision.probabilities, 0.0), keep)
        return decisions


def site_table_of(documents: Sequence[SegmentedText]) -> SiteTable:
    """The site evidence of `documents`: every document with a site counted as a page of it."""
    counter = SiteLineCounter()
    for document in documents:
        if document.site is not None:
            counter.add_page(document.site, [repeat_key(segment.text) for segment in document.segments])
    return counter.table()


def line_groups(document: SegmentedText) -> list[list[int]]:
    """Indices of segments grouped by the source line they come from.

    Segments are lines except where an overlong line was cut into sentences; line rules (C4,
    Gopher, jusText paragraphs) judge the whole line, as they were published.
    """
    groups: list[list[int]] = []
    previous_end: int | None = None
    for index, segment in enumerate(document.segments):
        between = document.text[previous_end : segment.start] if previous_end is not None else "\n"
        if groups and not LINE_BREAK.search(between):
            groups[-1].append(index)
        else:
            groups.append([index])
        previous_end = segment.end
    return groups


def line_texts(document: SegmentedText) -> list[tuple[list[int], str]]:
    """Each source line as (segment indices, the line's text from its first to its last segment)."""
    return [
        (group, document.text[document.segments[group[0]].start : document.segments[group[-1]].end])
        for group in line_groups(document)
    ]


def _check_alignment(document: SegmentedText, segments: Sequence[LabelledSegment]) -> None:
    expected = [(s.start, s.end) for s in document.segments]
    got = [(s.start, s.end) for s in segments]
    if expected != got:
        raise SegmentMismatchError(
            f"the model returned {len(got)} segments where split_document gives {len(expected)}; "
            "the model's max_chars or segmenter differs from the one evaluation uses"
        )

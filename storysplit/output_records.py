"""Labelled segments in, output records out; a batch that breaks the model retried one document at a time.

Every way of running the model (`storysplit segment`, `storysplit serve`, the corpus jobs) writes
what it found through these functions, so a document's main text, removed text and segment list
are the same whichever path produced them:

    {"main_text": str, "segments": [{"start", "end", "label", "probability"}], "removed_text"?: str}

Offsets index the input text; texts are joined with `storysplit.model.join_segments`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from storysplit.features.site_evidence import SiteTable
from storysplit.labels import SegmentLabel
from storysplit.model import LabelledSegment, StorySplitModel, join_segments

MAIN_TEXT_FIELD = "main_text"
REMOVED_FIELD = "removed_text"
SEGMENTS_FIELD = "segments"

CallGuard = Callable[[int], contextlib.AbstractContextManager[Any]]
"""Wraps each model call, given how many documents it holds (e.g. a time limit that grows with them)."""


@dataclass(frozen=True)
class ModelFailure:
    """The model raised on this document even when it ran alone."""

    error: Exception

    def __str__(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


def main_text(text: str, segments: Sequence[LabelledSegment]) -> str:
    """The kept (main) segments of `text`, joined as `join_segments` joins them."""
    return join_segments(text, [s for s in segments if s.label is SegmentLabel.MAIN])


def removed_text(text: str, segments: Sequence[LabelledSegment]) -> str:
    """The dropped segments of `text`, joined the same way (for auditing what was cut)."""
    return join_segments(text, [s for s in segments if s.label is not SegmentLabel.MAIN])


def segment_records(segments: Sequence[LabelledSegment]) -> list[dict[str, Any]]:
    """`{"start", "end", "label", "probability"}` per segment, offsets into the input text."""
    return [
        {"start": s.start, "end": s.end, "label": s.label.value, "probability": s.probability}
        for s in segments
    ]


def document_record(
    text: str,
    segments: Sequence[LabelledSegment],
    *,
    keep_removed: bool = False,
    keep_segments: bool = True,
) -> dict[str, Any]:
    """One document's output: `main_text`, then `segments` and `removed_text` when asked for.

    Args:
        text: The document as the model read it.
        segments: Its labelled segments (`StorySplitModel.segment_many`), in order.
        keep_removed: Add the dropped text as `removed_text`.
        keep_segments: Add the per-segment list as `segments`.
    """
    record: dict[str, Any] = {MAIN_TEXT_FIELD: main_text(text, segments)}
    if keep_segments:
        record[SEGMENTS_FIELD] = segment_records(segments)
    if keep_removed:
        record[REMOVED_FIELD] = removed_text(text, segments)
    return record


def segment_with_retry(
    model: StorySplitModel,
    texts: Sequence[str],
    threshold: float | None = None,
    guard: CallGuard | None = None,
    sites: Sequence[str | None] | None = None,
    site_table: SiteTable | None = None,
) -> list[list[LabelledSegment] | ModelFailure]:
    """Per text, its labelled segments, or the `ModelFailure` that keeps it from having any.

    All texts go through the model in one `segment_many` call. If that call raises (or `guard`
    stops it), each text is run again on its own, so one bad document fails alone and the others
    get exactly what they would have got in the batch.

    Args:
        model: The model.
        texts: Documents to label.
        threshold: Keep segments with p(main) >= this; None uses the model's own.
        guard: Context manager around each model call, given its number of texts; none by default.
        sites: Per text, its site (`StorySplitModel.segment_many`); None: each page alone.
        site_table: The corpus's site counts; with `sites`, needed for a text retried on its own to
            get the evidence it had in the batch.
    """
    if not texts:
        return []
    try:
        with guard(len(texts)) if guard is not None else contextlib.nullcontext():
            if sites is None:
                return list(model.segment_many(list(texts), threshold))
            return list(model.segment_many(list(texts), threshold, list(sites), site_table))
    except Exception as error:  # one bad document must not fail the others
        if len(texts) == 1:
            return [ModelFailure(error)]
    return [
        segment_with_retry(
            model, [text], threshold, guard, None if sites is None else [sites[number]], site_table
        )[0]
        for number, text in enumerate(texts)
    ]

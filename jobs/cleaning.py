"""Texts in, cleaned texts out: the one step every engine (local, Ray, datatrove) calls.

Keeping it in one function is what makes a document's cleaned text identical whichever engine ran
it, and identical to `storysplit segment`'s main text (both join the kept segments with
`storysplit.model.join_segments`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storysplit.jobs.timeouts import TimeLimitExceeded, check_time_limit_possible, time_limit
from storysplit.labels import SegmentLabel
from storysplit.model import StorySplitModel, join_segments, load_model

REMOVED_FIELD = "removed_text"
SEGMENTS_FIELD = "segments"


@dataclass(frozen=True)
class CleanOptions:
    """What to compute for each document.

    Attributes:
        threshold: Keep segments with p(main) >= this; None uses the model's own.
        keep_removed: Also return the dropped text (for auditing what was cut).
        keep_segments: Also return each segment's offsets into the input, label and probability.
    """

    threshold: float | None = None
    keep_removed: bool = False
    keep_segments: bool = False

    def extra_fields(self) -> tuple[str, ...]:
        """Names of the fields these options add to an output record, besides the text."""
        return (REMOVED_FIELD,) * self.keep_removed + (SEGMENTS_FIELD,) * self.keep_segments


@dataclass(frozen=True)
class CleanedText:
    """One document after cleaning.

    Attributes:
        text: The kept segments as `storysplit.model.join_segments` joins them.
        removed_text: The dropped segments the same way, when asked for.
        segments: `{"start", "end", "label", "probability"}` per segment, offsets into the input
            text, when asked for.
    """

    text: str
    removed_text: str | None = None
    segments: list[dict[str, Any]] | None = None

    def extra_fields(self) -> dict[str, Any]:
        """The output fields besides the text, under the names `CleanOptions.extra_fields` gives."""
        fields: dict[str, Any] = {}
        if self.removed_text is not None:
            fields[REMOVED_FIELD] = self.removed_text
        if self.segments is not None:
            fields[SEGMENTS_FIELD] = self.segments
        return fields


@dataclass(frozen=True)
class CleanFailure:
    """Why a document could not be cleaned (goes to the job's errors file)."""

    reason: str


def load_ready_model(path: str | Path) -> StorySplitModel:
    """`load_model`, then one tiny document, so the encoder (loaded on first use) is in memory.

    Without it the first batch of a job pays the encoder's seconds of loading, which would count
    against that batch's time limit and skew its timing.
    """
    model = load_model(path)
    model.segment("Warm-up.")
    return model


def clean_texts(model: StorySplitModel, texts: Sequence[str], options: CleanOptions) -> list[CleanedText]:
    """Clean `texts` in one batched model call; raises whatever the model raises."""
    if not texts:
        return []
    results = []
    for text, segments in zip(texts, model.segment_many(texts, options.threshold), strict=True):
        kept = [s for s in segments if s.label is SegmentLabel.MAIN]
        results.append(
            CleanedText(
                text=join_segments(text, kept),
                removed_text=(
                    join_segments(text, [s for s in segments if s.label is not SegmentLabel.MAIN])
                    if options.keep_removed
                    else None
                ),
                segments=(
                    [
                        {"start": s.start, "end": s.end, "label": s.label.value, "probability": s.probability}
                        for s in segments
                    ]
                    if options.keep_segments
                    else None
                ),
            )
        )
    return results


def clean_documents(
    model: StorySplitModel, texts: Sequence[str], options: CleanOptions, seconds_per_document: float = 0.0
) -> list[CleanedText | CleanFailure]:
    """`clean_texts`, but a document that breaks the model or overruns fails alone.

    The batch gets `seconds_per_document × len(texts)` (0: no limit; the limit needs the main
    thread). A batch that raises or overruns is redone one document at a time, so only the
    documents that fail or overrun on their own come back as `CleanFailure`; the others get the
    same result they would have had in the batch.

    Raises:
        RuntimeError: a time limit was asked for outside the main thread.
    """
    check_time_limit_possible(seconds_per_document)
    try:
        with time_limit(seconds_per_document * len(texts)):
            return list(clean_texts(model, texts, options))
    except Exception as error:  # one bad document must not stop a corpus job
        if len(texts) == 1:
            return [CleanFailure(_reason(error))]
    return [clean_documents(model, [text], options, seconds_per_document)[0] for text in texts]


def _reason(error: Exception) -> str:
    if isinstance(error, TimeLimitExceeded):
        return str(error)
    return f"model failed: {type(error).__name__}: {error}"

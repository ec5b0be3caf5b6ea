"""Texts in, cleaned texts out: the one step every engine (local, Ray, datatrove) calls.

Keeping it in one function is what makes a document's cleaned text identical whichever engine ran
it, and identical to `storysplit segment`'s main text (both build their output with
`storysplit.output_records`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storysplit.features.site_evidence import SiteTable
from storysplit.jobs.timeouts import TimeLimitExceeded, check_time_limit_possible, time_limit
from storysplit.model import LabelledSegment, StorySplitModel, load_model, tune_gc_for_labelling
from storysplit.output_records import (
    MAIN_TEXT_FIELD,
    REMOVED_FIELD,
    SEGMENTS_FIELD,
    ModelFailure,
    document_record,
    segment_with_retry,
)
from storysplit.records import SourceDocument

CORPUS_MAX_BYTES = 2_000_000
"""Longest document a corpus job cleans, in characters: news pages are far smaller, and one huge
document would hold a worker for minutes."""
DEFAULT_BATCH_SIZE = 32
"""Documents per model call."""


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
        text: The kept segments, as `storysplit.output_records.main_text` joins them.
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
    against that batch's time limit and skew its timing. The loaded objects are then frozen
    and young ones collected less often (`tune_gc_for_labelling`): the worker labels until it ends.
    """
    model = load_model(path)
    model.segment("Warm-up.")
    tune_gc_for_labelling()
    return model


def cleaned_text(text: str, segments: Sequence[LabelledSegment], options: CleanOptions) -> CleanedText:
    """One document's labelled segments as the fields `options` asks for."""
    record = document_record(
        text, segments, keep_removed=options.keep_removed, keep_segments=options.keep_segments
    )
    return CleanedText(record[MAIN_TEXT_FIELD], record.get(REMOVED_FIELD), record.get(SEGMENTS_FIELD))


def clean_texts(model: StorySplitModel, texts: Sequence[str], options: CleanOptions) -> list[CleanedText]:
    """Clean `texts` in one batched model call; raises whatever the model raises."""
    if not texts:
        return []
    results = model.segment_many(texts, options.threshold)
    return [cleaned_text(text, segments, options) for text, segments in zip(texts, results, strict=True)]


def clean_documents(
    model: StorySplitModel,
    texts: Sequence[str],
    options: CleanOptions,
    seconds_per_document: float = 0.0,
    sites: Sequence[str | None] | None = None,
    site_table: SiteTable | None = None,
) -> list[CleanedText | CleanFailure]:
    """`clean_texts`, but a document that breaks the model or overruns fails alone.

    The batch gets `seconds_per_document × len(texts)` (0: no limit; the limit needs the main
    thread). A batch that raises or overruns is redone one document at a time
    (`storysplit.output_records.segment_with_retry`), so only the documents that fail or overrun on
    their own come back as `CleanFailure`; the others get the same result they would have had in
    the batch. `sites` (per text) and `site_table` (the corpus's counts, `jobs.sites`) give pages
    of one site each other's evidence, as `StorySplitModel.segment_many` says.

    Raises:
        RuntimeError: a time limit was asked for outside the main thread.
    """
    check_time_limit_possible(seconds_per_document)
    outcomes = segment_with_retry(
        model,
        texts,
        options.threshold,
        guard=lambda n: time_limit(seconds_per_document * n),
        sites=sites,
        site_table=site_table,
    )
    return [
        CleanFailure(_reason(outcome.error))
        if isinstance(outcome, ModelFailure)
        else cleaned_text(text, outcome, options)
        for text, outcome in zip(texts, outcomes, strict=True)
    ]


def clean_batch(
    model: StorySplitModel,
    documents: Sequence[SourceDocument],
    options: CleanOptions,
    seconds_per_document: float = 0.0,
    sites: Sequence[str | None] | None = None,
    site_table: SiteTable | None = None,
) -> list[CleanedText | CleanFailure]:
    """Per document, in order: its cleaned text, or why it has none.

    Documents that could not be read fail with their `problem`; the others are cleaned together
    (`clean_documents`, with their `sites` and `site_table`), and one the model fails on gets the
    reason prefixed with where it is.
    """
    readable = [number for number, doc in enumerate(documents) if doc.problem is None]
    outcomes = iter(
        clean_documents(
            model,
            [documents[number].text for number in readable],
            options,
            seconds_per_document,
            None if sites is None else [sites[number] for number in readable],
            site_table,
        )
    )
    results: list[CleanedText | CleanFailure] = []
    for doc in documents:
        if doc.problem is not None:
            results.append(CleanFailure(doc.problem))
            continue
        outcome = next(outcomes)
        results.append(
            CleanFailure(f"{doc.where}: {outcome.reason}") if isinstance(outcome, CleanFailure) else outcome
        )
    return results


def _reason(error: Exception) -> str:
    if isinstance(error, TimeLimitExceeded):
        return str(error)
    return f"model failed: {type(error).__name__}: {error}"

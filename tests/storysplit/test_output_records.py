"""Output records, and a failed batch retried one document at a time: what segment, serve and jobs share."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from storysplit import SegmentLabel, load_model
from storysplit.model import LabelledSegment, StorySplitModel
from storysplit.output_records import (
    ModelFailure,
    document_record,
    main_text,
    removed_text,
    segment_records,
    segment_with_retry,
)

TEXT = "Headline\n\nMenu | Home\nFirst paragraph.\nSecond paragraph.\n\nRelated: more stories"
LINES = ["Headline", "Menu | Home", "First paragraph.", "Second paragraph.", "Related: more stories"]
MAIN_LINES = {0, 2, 3}


def _labelled(text: str = TEXT) -> list[LabelledSegment]:
    segments = []
    for number, line in enumerate(LINES):
        start = text.index(line)
        main = number in MAIN_LINES
        label = SegmentLabel.MAIN if main else SegmentLabel.BOILERPLATE
        segments.append(LabelledSegment(start, start + len(line), label, 0.9 if main else 0.1))
    return segments


def test_main_and_removed_text_split_the_segments_and_keep_paragraphs() -> None:
    segments = _labelled()
    assert main_text(TEXT, segments) == "Headline\n\nFirst paragraph.\nSecond paragraph."
    assert removed_text(TEXT, segments) == "Menu | Home\n\nRelated: more stories"


def test_document_record_fields_in_order_and_only_when_asked() -> None:
    segments = _labelled()
    assert list(document_record(TEXT, segments)) == ["main_text", "segments"]
    assert list(document_record(TEXT, segments, keep_removed=True)) == [
        "main_text",
        "segments",
        "removed_text",
    ]
    assert list(document_record(TEXT, segments, keep_removed=True, keep_segments=False)) == [
        "main_text",
        "removed_text",
    ]
    record = document_record(TEXT, segments, keep_removed=True)
    assert record["segments"] == segment_records(segments)
    assert record["segments"][1] == {"start": 10, "end": 21, "label": "boilerplate", "probability": 0.1}
    assert json.loads(json.dumps(record)) == record  # plain JSON, as every writer needs


def test_segment_records_index_the_input_text() -> None:
    for segment, line in zip(segment_records(_labelled()), LINES, strict=True):
        assert TEXT[segment["start"] : segment["end"]] == line


class _FlakyModel:
    """Fails any batch holding a text with POISON; counts the texts of each call."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def segment_many(
        self, texts: Sequence[str], threshold: float | None = None
    ) -> list[list[LabelledSegment]]:
        self.calls.append(len(texts))
        if any("POISON" in text for text in texts):
            raise ValueError("cannot featurise this")
        return [_labelled(text) if text == TEXT else [] for text in texts]


def test_a_failed_batch_is_retried_one_by_one_and_only_the_bad_document_fails() -> None:
    model = _FlakyModel()
    outcomes = segment_with_retry(model, [TEXT, "POISON", TEXT])  # type: ignore[arg-type]
    assert model.calls == [3, 1, 1, 1]
    assert outcomes[0] == outcomes[2] == _labelled()
    assert isinstance(outcomes[1], ModelFailure)
    assert str(outcomes[1]) == "ValueError: cannot featurise this"


def test_a_batch_that_works_is_one_call_and_no_texts_none() -> None:
    model = _FlakyModel()
    assert segment_with_retry(model, [TEXT, TEXT]) == [_labelled(), _labelled()]  # type: ignore[arg-type]
    assert segment_with_retry(model, []) == []  # type: ignore[arg-type]
    assert model.calls == [2]


def test_the_guard_wraps_each_call_with_its_size_and_can_stop_it() -> None:
    sizes: list[int] = []

    @contextlib.contextmanager
    def refuse_batches(size: int) -> Iterator[None]:
        sizes.append(size)
        if size > 1:
            raise TimeoutError("batch took too long")
        yield

    outcomes = segment_with_retry(_FlakyModel(), [TEXT, TEXT], guard=refuse_batches)  # type: ignore[arg-type]
    assert sizes == [2, 1, 1]
    assert outcomes == [_labelled(), _labelled()]


def test_records_of_a_real_model_match_its_segments(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]]
) -> None:
    model: StorySplitModel = load_model(tiny_model_dir)
    texts = [row["text"] for row in seed_rows[:3]]
    outcomes = segment_with_retry(model, texts, threshold=0.4)
    assert outcomes == model.segment_many(texts, 0.4)
    for text, segments in zip(texts, outcomes, strict=True):
        assert not isinstance(segments, ModelFailure)
        record = document_record(text, segments, keep_removed=True)
        assert record["main_text"] == model.extract(text, 0.4)
        kept = [s for s in record["segments"] if s["label"] == "main"]
        assert record["main_text"].split() == " ".join(text[s["start"] : s["end"]] for s in kept).split()


@pytest.mark.parametrize("keep_removed", [False, True])
def test_segment_cli_and_jobs_write_the_same_record(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]], keep_removed: bool
) -> None:
    """The JSONL of `storysplit segment` and a job's extra fields come from `document_record`."""
    from storysplit.jobs.cleaning import CleanOptions, clean_texts

    model = load_model(tiny_model_dir)
    text = seed_rows[0]["text"]
    record = document_record(text, model.segment(text), keep_removed=keep_removed)
    cleaned = clean_texts(model, [text], CleanOptions(keep_removed=keep_removed, keep_segments=True))[0]
    assert {"main_text": cleaned.text, **cleaned.extra_fields()} == record

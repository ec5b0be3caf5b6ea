from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storysplit.cli import main
from storysplit.jobs.cleaning import (
    CleanedText,
    CleanFailure,
    CleanOptions,
    clean_batch,
    clean_documents,
    clean_texts,
)
from storysplit.model import load_model
from storysplit.records import SourceDocument
from tests.jobs.corpus import make_records, write_jsonl


def test_cleaned_text_is_exactly_storysplit_segments_main_text(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = make_records(seed_rows, 8)
    source = write_jsonl(tmp_path / "docs.jsonl", records)
    assert main(["segment", str(source), "--model", str(tiny_model_dir), "--threshold", "0.4"]) == 0
    expected = [json.loads(line)["main_text"] for line in capsys.readouterr().out.splitlines()]
    cleaned = clean_texts(
        load_model(tiny_model_dir), [r["text"] for r in records], CleanOptions(threshold=0.4)
    )
    assert [c.text for c in cleaned] == expected


def test_kept_and_removed_text_split_the_segments_between_them(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]]
) -> None:
    model = load_model(tiny_model_dir)
    texts = [r["text"] for r in make_records(seed_rows, 5)]
    options = CleanOptions(keep_removed=True, keep_segments=True)
    for text, cleaned in zip(texts, clean_texts(model, texts, options), strict=True):
        assert cleaned.segments is not None and cleaned.removed_text is not None
        kept = [text[s["start"] : s["end"]] for s in cleaned.segments if s["label"] == "main"]
        dropped = [text[s["start"] : s["end"]] for s in cleaned.segments if s["label"] != "main"]
        assert cleaned.text.split() == " ".join(kept).split()
        assert cleaned.removed_text.split() == " ".join(dropped).split()
        assert set(cleaned.extra_fields()) == set(options.extra_fields())


class _PoisonedModel:
    """Stands in for a model that breaks on one kind of document, to test failure isolation."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[int] = []

    def segment_many(self, texts: list[str], threshold: float | None = None) -> Any:
        self.calls.append(len(texts))
        if any("POISON" in text for text in texts):
            raise ValueError("cannot featurise this")
        return self.real.segment_many(texts, threshold)


def test_a_document_that_breaks_the_model_fails_alone(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]]
) -> None:
    real = load_model(tiny_model_dir)
    texts = [r["text"] for r in make_records(seed_rows, 4)]
    model = _PoisonedModel(real)
    outcomes = clean_documents(model, [*texts[:2], "POISON here", *texts[2:]], CleanOptions())  # type: ignore[arg-type]
    assert outcomes[2] == CleanFailure("model failed: ValueError: cannot featurise this")
    assert [o for i, o in enumerate(outcomes) if i != 2] == clean_texts(real, texts, CleanOptions())
    assert model.calls == [5, 1, 1, 1, 1, 1]  # the batch, then each document alone


def test_the_time_limit_is_real(tiny_model_dir: Path, seed_rows: list[dict[str, Any]]) -> None:
    model = load_model(tiny_model_dir)
    texts = [r["text"] for r in make_records(seed_rows, 3)]
    too_short = clean_documents(model, texts, CleanOptions(), seconds_per_document=1e-4)
    assert too_short == [CleanFailure("timed out after 0.0001 s")] * 3
    ample = clean_documents(model, texts, CleanOptions(), seconds_per_document=60)
    assert all(isinstance(o, CleanedText) for o in ample)
    assert ample == clean_texts(model, texts, CleanOptions())


def test_a_batch_keeps_its_order_with_unreadable_and_failing_documents(
    tiny_model_dir: Path, seed_rows: list[dict[str, Any]]
) -> None:
    """What every engine merges: read problems as they are, model failures named by where they are."""
    real = load_model(tiny_model_dir)
    texts = [r["text"] for r in make_records(seed_rows, 2)]
    documents = [
        SourceDocument("a", "in.jsonl:1", text=texts[0]),
        SourceDocument("in.jsonl:2", "in.jsonl:2", problem="in.jsonl:2: not valid JSON (Expecting value)"),
        SourceDocument("c", "in.jsonl:3", text="POISON here"),
        SourceDocument("d", "in.jsonl:4", text=texts[1]),
    ]
    outcomes = clean_batch(_PoisonedModel(real), documents, CleanOptions())  # type: ignore[arg-type]
    assert outcomes[1] == CleanFailure("in.jsonl:2: not valid JSON (Expecting value)")
    assert outcomes[2] == CleanFailure("in.jsonl:3: model failed: ValueError: cannot featurise this")
    assert [outcomes[0], outcomes[3]] == clean_texts(real, texts, CleanOptions())

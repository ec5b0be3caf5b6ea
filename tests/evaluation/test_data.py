"""Data specs, row checks, fingerprints and gold per segment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storysplit.evaluation.data import (
    DataSpecError,
    document_from_row,
    fingerprint,
    load_eval_set,
    sample_eval_set,
    segment_gold,
)
from storysplit.features.segmentation import Segment
from storysplit.labels import SegmentKind, SegmentLabel
from tests.conftest import SEEDS_DIR


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_jsonl_spec_reads_corpus_rows(tmp_path: Path, story_rows: list[dict[str, Any]]) -> None:
    eval_set = load_eval_set(str(write_jsonl(tmp_path / "rows.jsonl", story_rows)), SEEDS_DIR)
    assert [d.id for d in eval_set.documents] == ["story-a", "story-b"]
    assert eval_set.documents[0].spans[0].kind is SegmentKind.MENU


def test_seeds_spec_reads_the_five_seeds(seeds_dir: Path) -> None:
    eval_set = load_eval_set("seeds", seeds_dir)
    assert len(eval_set.documents) == 5
    assert {d.renderer for d in eval_set.documents} == {"scraped"}


def test_unknown_spec_says_what_is_expected() -> None:
    with pytest.raises(DataSpecError, match=r"unknown data spec 'nowhere:validation'.*DIR:SPLIT"):
        load_eval_set("nowhere:validation", SEEDS_DIR)


def test_missing_jsonl_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataSpecError, match="no such JSONL file"):
        load_eval_set(str(tmp_path / "absent.jsonl"), SEEDS_DIR)


def test_saved_dataset_dict_needs_a_split(tmp_path: Path, story_rows: list[dict[str, Any]]) -> None:
    from datasets import Dataset, DatasetDict

    DatasetDict({"validation": Dataset.from_list(story_rows)}).save_to_disk(str(tmp_path / "corpus"))
    assert len(load_eval_set(f"{tmp_path / 'corpus'}:validation", SEEDS_DIR).documents) == 2
    with pytest.raises(DataSpecError, match=r"splits \['validation'\]; name one"):
        load_eval_set(str(tmp_path / "corpus"), SEEDS_DIR)
    with pytest.raises(DataSpecError, match="no split 'test'"):
        load_eval_set(f"{tmp_path / 'corpus'}:test", SEEDS_DIR)


def test_rows_with_missing_fields_or_bad_labels_are_refused(story_rows: list[dict[str, Any]]) -> None:
    row = dict(story_rows[0])
    del row["reference_text"]
    with pytest.raises(DataSpecError, match="lacks field"):
        document_from_row(row)
    bad = dict(story_rows[0], spans=[{"start": 0, "end": 4, "label": "story", "kind": "body", "weight": 1}])
    with pytest.raises(DataSpecError, match="invalid span"):
        document_from_row(bad)


def test_fingerprint_changes_with_text_and_spans(story_rows: list[dict[str, Any]]) -> None:
    original = fingerprint([document_from_row(story_rows[0])])
    assert fingerprint([document_from_row(story_rows[0])]) == original
    relabelled = dict(story_rows[0], spans=[dict(story_rows[0]["spans"][0], label="main")])
    assert fingerprint([document_from_row(relabelled)]) != original
    assert fingerprint([document_from_row(dict(story_rows[0], text="x" + story_rows[0]["text"]))]) != original


def test_segment_gold_takes_the_span_it_overlaps_most() -> None:
    row = {
        "id": "d",
        "text": "aaaa bbbbbbbb",
        "source": "s",
        "renderer": "r",
        "reference_text": "",
        "spans": [
            {"start": 0, "end": 4, "label": "boilerplate", "kind": "menu", "weight": 1.0},
            {"start": 5, "end": 13, "label": "main", "kind": "body", "weight": 0.5},
        ],
    }
    document = document_from_row(row)
    gold = segment_gold(document, [Segment(0, 13, document.text), Segment(20, 22, "")])
    assert (gold[0].label, gold[0].kind, gold[0].weight) == (SegmentLabel.MAIN, SegmentKind.BODY, 0.5)
    assert gold[1].weight == 0.0


def test_sample_is_fixed_ordered_and_renamed(seeds_dir: Path) -> None:
    eval_set = load_eval_set("seeds", seeds_dir)
    sample = sample_eval_set(eval_set, 3, seed=1)
    assert sample == sample_eval_set(eval_set, 3, seed=1)
    ids = [d.id for d in eval_set.documents]
    assert [ids.index(d.id) for d in sample.documents] == sorted(ids.index(d.id) for d in sample.documents)
    assert sample.spec == "seeds#sample3"
    assert sample_eval_set(eval_set, 10) is eval_set

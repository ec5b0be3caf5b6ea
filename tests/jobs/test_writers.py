from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storysplit.jobs.cleaning import CleanedText, CleanOptions
from storysplit.jobs.writers import open_shard_writer
from storysplit.records import SourceDocument

DOCS = [
    SourceDocument("a", "in.jsonl:1", {"id": "a", "text": "Menu\nStory é", "n": 1}, "Menu\nStory é"),
    SourceDocument("b", "in.jsonl:2", {"id": "b", "text": "Story two", "n": 2}, "Story two"),
]
SEGMENTS = [{"start": 0, "end": 4, "label": "boilerplate", "probability": 0.1}]
CLEANED = [CleanedText("Story é", "Menu", SEGMENTS), CleanedText("Story two", "", [])]
ALL_EXTRAS = CleanOptions(keep_removed=True, keep_segments=True)


def _write(
    fmt: str, final: Path, options: CleanOptions = ALL_EXTRAS, schema: pa.Schema | None = None
) -> None:
    writer = open_shard_writer(fmt, final, "text", options, schema)
    for doc, cleaned in zip(DOCS, CLEANED, strict=True):
        writer.add(doc, cleaned)
        assert not final.exists(), "a shard must not appear under its final name before commit"
    writer.commit()


def test_jsonl_keeps_other_fields_replaces_text_and_adds_extras(tmp_path: Path) -> None:
    _write("jsonl", tmp_path / "shard.jsonl")
    records = [
        json.loads(line) for line in (tmp_path / "shard.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert records[0] == {"id": "a", "text": "Story é", "n": 1, "removed_text": "Menu", "segments": SEGMENTS}
    assert "é" in (tmp_path / "shard.jsonl").read_text(encoding="utf-8")  # not \\u-escaped
    assert list(tmp_path.iterdir()) == [tmp_path / "shard.jsonl"]  # no temporary left behind


def test_gzip_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    _write("jsonl.gz", tmp_path / "one.jsonl.gz")
    _write("jsonl.gz", tmp_path / "two.jsonl.gz")
    assert (tmp_path / "one.jsonl.gz").read_bytes() == (tmp_path / "two.jsonl.gz").read_bytes()
    _write("jsonl", tmp_path / "plain.jsonl")
    assert (
        gzip.decompress((tmp_path / "one.jsonl.gz").read_bytes()) == (tmp_path / "plain.jsonl").read_bytes()
    )


@pytest.mark.parametrize("options", [CleanOptions(), ALL_EXTRAS])
def test_parquet_has_the_input_columns_plus_the_extras_asked_for(
    tmp_path: Path, options: CleanOptions
) -> None:
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("n", pa.int32())])
    _write("parquet", tmp_path / "shard.parquet", options, schema)
    table = pq.read_table(tmp_path / "shard.parquet")
    assert table.schema.names == ["id", "text", "n", *options.extra_fields()]
    assert table.schema.field("n").type == pa.int32()
    assert table.column("text").to_pylist() == ["Story é", "Story two"]
    if options.keep_segments:
        assert table.column("segments").to_pylist() == [SEGMENTS, []]


def test_txt_shard_is_a_folder_mirroring_input_paths(tmp_path: Path) -> None:
    docs = [
        SourceDocument("sub/page.txt", "sub/page.txt", text="x"),
        SourceDocument("b.txt", "b.txt", text="y"),
    ]
    writer = open_shard_writer("txt", tmp_path / "shard-00000", "text", ALL_EXTRAS)
    for doc, cleaned in zip(docs, CLEANED, strict=True):
        writer.add(doc, cleaned)
    writer.commit()
    folder = tmp_path / "shard-00000"
    assert (folder / "sub" / "page.txt").read_text(encoding="utf-8") == "Story é\n"
    assert (folder / "sub" / "page.removed.txt").read_text(encoding="utf-8") == "Menu\n"
    assert json.loads((folder / "sub" / "page.segments.json").read_text()) == SEGMENTS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-00000"]

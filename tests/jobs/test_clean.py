from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storysplit.jobs.cleaning import CleanOptions, clean_texts
from storysplit.model import load_model
from tests.jobs.corpus import make_records, read_errors, read_jsonl_folder, run_clean, write_jsonl

BAD_LINES = ('{"id": "broken", "text": ', '{"id": "empty", "text": ""}')


@pytest.fixture()
def records(seed_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return make_records(seed_rows, 10)


def test_jsonl_gz_corpus_every_good_id_once_and_bad_ones_in_the_errors_file(
    tiny_model_dir: Path, records: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl.gz", records, BAD_LINES)
    out = tmp_path / "out"
    code, err = run_clean(
        [str(source), str(out), "--model", str(tiny_model_dir), "--shard-size", "4"], capsys
    )
    assert code == 0, err
    assert sorted(p.name for p in out.glob("shard-*")) == [f"shard-0000{i}.jsonl.gz" for i in range(3)]
    cleaned = read_jsonl_folder(out)
    assert [r["id"] for r in cleaned] == [r["id"] for r in records]
    expected = clean_texts(load_model(tiny_model_dir), [r["text"] for r in records], CleanOptions())
    assert cleaned == [{**r, "text": e.text} for r, e in zip(records, expected, strict=True)]
    assert read_errors(out) == [
        {"id": "in.jsonl.gz:11", "reason": "in.jsonl.gz:11: not valid JSON (Expecting value)"},
        {"id": "empty", "reason": "in.jsonl.gz:12: document is empty"},
    ]
    assert "10 documents cleaned, 2 failed" in err and "docs/s" in err and ".storysplit/errors.jsonl" in err


def test_parquet_keeps_columns_and_types_and_adds_the_extras(
    tiny_model_dir: Path, records: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = pa.Table.from_pylist([{**r, "year": 2020 + i} for i, r in enumerate(records)])
    pq.write_table(table.cast(table.schema.set(3, pa.field("year", pa.int16()))), tmp_path / "in.parquet")
    out = tmp_path / "out"
    args = [
        str(tmp_path / "in.parquet"),
        str(out),
        "--model",
        str(tiny_model_dir),
        "--keep-removed",
        "--segments",
    ]
    code, err = run_clean(args, capsys)
    assert code == 0, err
    result = pq.read_table(out / "shard-00000.parquet")
    assert result.schema.names == ["id", "url", "text", "year", "removed_text", "segments"]
    assert result.schema.field("year").type == pa.int16()
    assert result.column("id").to_pylist() == [r["id"] for r in records]
    first = result.slice(0, 1).to_pylist()[0]
    labels = {s["label"] for s in first["segments"]}
    assert labels <= {"main", "boilerplate"} and first["text"] and first["removed_text"] is not None


def test_txt_folder_gives_a_folder_per_shard(
    tiny_model_dir: Path, records: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "pages"
    for record in records[:3]:
        (source / "site").mkdir(parents=True, exist_ok=True)
        (source / "site" / f"{record['id']}.txt").write_text(record["text"], encoding="utf-8")
    out = tmp_path / "out"
    code, err = run_clean(
        [str(source), str(out), "--model", str(tiny_model_dir), "--shard-size", "2"], capsys
    )
    assert code == 0, err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt"))
    assert written == [
        "shard-00000/site/doc-000.txt",
        "shard-00000/site/doc-001.txt",
        "shard-00001/site/doc-002.txt",
    ]


def test_resume_redoes_only_unfinished_shards_and_gives_the_same_output(
    tiny_model_dir: Path, records: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", records, BAD_LINES)
    out = tmp_path / "out"
    args = [str(source), str(out), "--model", str(tiny_model_dir), "--shard-size", "3"]
    assert run_clean(args, capsys)[0] == 0
    complete = {p.name: p.read_bytes() for p in out.glob("shard-*")}
    kept = out / "shard-00000.jsonl"
    kept_time = kept.stat().st_mtime_ns
    (out / "shard-00002.jsonl").unlink()  # as if killed before shard 2 and 3 were marked done
    (out / ".storysplit" / "shard-00002.json").unlink()
    (out / ".storysplit" / "shard-00003.json").unlink()
    (out / ".shard-00003.jsonl.999.tmp").write_text('{"id": "half-written"}\n')

    code, err = run_clean([*args, "--resume"], capsys)
    assert code == 0, err
    assert "4 documents cleaned, 2 failed" in err and "6 documents were done by earlier runs" in err
    assert {p.name: p.read_bytes() for p in out.glob("shard-*")} == complete
    assert kept.stat().st_mtime_ns == kept_time
    assert not list(out.glob(".*.tmp"))
    assert [e["id"] for e in read_errors(out)] == ["in.jsonl:11", "empty"]


def test_a_used_output_folder_needs_resume_and_the_same_settings(
    tiny_model_dir: Path, records: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", records[:2])
    out = tmp_path / "out"
    args = [str(source), str(out), "--model", str(tiny_model_dir)]
    assert run_clean(args, capsys)[0] == 0
    code, err = run_clean(args, capsys)
    assert code == 2 and "is not empty; pass --resume" in err and "Traceback" not in err
    code, err = run_clean([*args, "--resume", "--threshold", "0.7"], capsys)
    assert code == 2 and "threshold was None, now 0.7" in err
    code, err = run_clean([str(tmp_path), str(tmp_path / "inside")], capsys)
    assert code == 2 and "is inside the input folder" in err


def test_documents_over_the_time_limit_fail_with_the_reason(
    tiny_model_dir: Path, records: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", records[:3])
    out = tmp_path / "out"
    code, err = run_clean(
        [str(source), str(out), "--model", str(tiny_model_dir), "--timeout", "0.0001"], capsys
    )
    assert code == 0, err
    assert read_jsonl_folder(out) == []
    assert read_errors(out) == [
        {"id": r["id"], "reason": f"in.jsonl:{i}: timed out after 0.0001 s"}
        for i, r in enumerate(records[:3], 1)
    ]
    assert len(json.loads((out / ".storysplit" / "shard-00000.json").read_text())["errors"]) == 3

"""`--engine ray` on a local Ray instance gives the local engine's records: the same text and labels,
probabilities to float rounding (Ray batches the documents differently)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storysplit.features.site_evidence import SiteTable
from tests.jobs.corpus import approx_segments, make_crawl, make_records, read_errors, run_clean, write_jsonl

ray = pytest.importorskip("ray", reason="ray is an optional extra: pip install 'storysplit[ray]'")
pytestmark = pytest.mark.slow  # starts a Ray cluster


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def _records(folder: Path) -> list[dict[str, Any]]:
    return sorted(
        (
            json.loads(line)
            for path in folder.glob("*.jsonl.gz")
            for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        ),
        key=lambda record: str(record["id"]),
    )


def _same_records(on_ray: Path, local: Path, count: int) -> None:
    expected = _records(local)
    assert _records(on_ray) == [approx_segments(record) for record in expected] and len(expected) == count


def test_jsonl_on_ray_matches_the_local_engine(
    local_ray: None,
    tiny_model_dir: Path,
    seed_rows: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = make_records(seed_rows, 24)
    source = write_jsonl(tmp_path / "in.jsonl.gz", records, ("{not json", '{"id": "empty", "text": ""}'))
    options = [
        "--model",
        str(tiny_model_dir),
        "--keep-removed",
        "--segments",
        "--batch-size",
        "5",
    ]
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    assert run_clean([str(source), str(local), *options], capsys)[0] == 0
    code, err = run_clean([str(source), str(on_ray), *options, "--engine", "ray", "--workers", "2"], capsys)
    assert code == 0, err
    assert "24 documents cleaned, 2 failed" in err and "2 actors" in err
    assert len(list(on_ray.glob("part-*.jsonl.gz"))) >= 1
    _same_records(on_ray, local, 24)
    assert sorted(read_errors(on_ray), key=str) == sorted(read_errors(local), key=str)


def test_parquet_on_ray_matches_the_local_engine(
    local_ray: None,
    tiny_model_dir: Path,
    seed_rows: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [{**record, "rank": number} for number, record in enumerate(make_records(seed_rows, 12))]
    rows[3]["text"] = "   "
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet", row_group_size=5)
    options = ["--model", str(tiny_model_dir), "--segments"]
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    assert run_clean([str(tmp_path / "in.parquet"), str(local), *options], capsys)[0] == 0
    code, err = run_clean([str(tmp_path / "in.parquet"), str(on_ray), *options, "--engine", "ray"], capsys)
    assert code == 0, err
    expected = pq.read_table(local / "shard-00000.parquet")
    parts = pa.concat_tables(pq.read_table(path) for path in sorted(on_ray.glob("part-*.parquet")))
    assert parts.schema == expected.schema
    assert parts.sort_by("id").to_pylist() == [
        approx_segments(row) for row in expected.sort_by("id").to_pylist()
    ]
    assert (
        read_errors(on_ray)
        == read_errors(local)
        == [{"id": "doc-003", "reason": "in.parquet:4: document is empty"}]
    )


def test_ray_refuses_what_only_the_local_engine_does(
    local_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.txt").write_text("text")
    code, err = run_clean([str(tmp_path / "pages"), str(tmp_path / "out"), "--engine", "ray"], capsys)
    assert code == 2 and "use --engine local" in err
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "text"}])
    code, err = run_clean([str(source), str(tmp_path / "out"), "--engine", "ray", "--resume"], capsys)
    assert code == 2 and "--resume is for the local engine" in err


def test_site_evidence_on_ray_matches_the_local_engine(
    local_ray: None,
    tiny_model_dir: Path,
    seed_rows: list[dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = write_jsonl(tmp_path / "crawl.jsonl.gz", make_crawl(seed_rows), ('{"id": "bad", "url": 3',))
    options = ["--model", str(tiny_model_dir), "--segments", "--site-field", "url", "--batch-size", "4"]
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    assert run_clean([str(source), str(local), *options], capsys)[0] == 0
    code, err = run_clean([str(source), str(on_ray), *options, "--engine", "ray", "--workers", "2"], capsys)
    assert code == 0, err
    assert "counted the lines of 9 pages of 2 sites" in err and "13 documents cleaned, 1 failed" in err
    _same_records(on_ray, local, 13)
    tables = [SiteTable.load(folder / ".storysplit" / "sites.npz") for folder in (local, on_ray)]
    for name in ("sites", "pages", "lines", "counts"):
        np.testing.assert_array_equal(getattr(tables[0], name), getattr(tables[1], name))

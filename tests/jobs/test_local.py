"""The local engine's promise: a job killed at any point and resumed writes every document exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.jobs.corpus import make_records, read_errors, read_jsonl_folder, run_clean, write_jsonl

DEFAULT_MODEL = REPO / "models" / "default"


@pytest.mark.slow
def test_a_killed_job_resumes_to_every_id_exactly_once_and_the_uninterrupted_output(
    seed_rows: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = make_records(seed_rows, 60)
    source = write_jsonl(tmp_path / "in.jsonl.gz", records, ('{"id": "empty", "text": " "}',))
    common = ["--model", str(DEFAULT_MODEL), "--shard-size", "4"]  # 61 documents: 16 shards
    reference = tmp_path / "reference"
    assert run_clean([str(source), str(reference), *common], capsys)[0] == 0

    out = tmp_path / "out"
    command = [sys.executable, "-m", "storysplit", "clean", str(source), str(out), *common, "--workers", "2"]
    job = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    markers = out / ".storysplit"
    deadline = time.monotonic() + 180
    while not list(markers.glob("shard-*.json")):
        assert job.poll() is None, f"job ended before it was killed: {job.communicate()[1]}"
        assert time.monotonic() < deadline, "no shard finished in time"
        time.sleep(0.02)
    job.kill()
    job.communicate()
    finished = sorted(markers.glob("shard-*.json"))
    assert 1 <= len(finished) < 16, "the kill must land half-way"
    time.sleep(1.5)
    assert sorted(markers.glob("shard-*.json")) == finished, "workers must die with the killed job"

    code, err = run_clean([str(source), str(out), *common, "--resume"], capsys)
    assert code == 0, err
    ids = [record["id"] for record in read_jsonl_folder(out)]
    assert len(ids) == len(set(ids)) and set(ids) == {record["id"] for record in records}
    shards = sorted(path.name for path in out.glob("shard-*"))
    assert shards == sorted(path.name for path in reference.glob("shard-*"))
    assert all((out / name).read_bytes() == (reference / name).read_bytes() for name in shards)
    assert (
        read_errors(out)
        == read_errors(reference)
        == [{"id": "empty", "reason": "in.jsonl.gz:61: document is empty"}]
    )

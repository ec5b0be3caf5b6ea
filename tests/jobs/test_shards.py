from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storysplit.jobs.errors import JobError
from storysplit.jobs.shards import OutputFolder, ShardResult, plan_shards
from storysplit.records import SourceDocument

PLAN = {"input": "/data/in.jsonl", "shard_size": 10, "threshold": None}


@given(count=st.integers(0, 60), size=st.integers(1, 12))
def test_shards_cover_the_input_in_order_with_fixed_sizes(count: int, size: int) -> None:
    documents = [SourceDocument(str(i), str(i)) for i in range(count)]
    shards = list(plan_shards(documents, size))
    assert [doc for shard in shards for doc in shard.documents] == documents
    assert [shard.index for shard in shards] == list(range(len(shards)))
    assert all(len(shard.documents) == size for shard in shards[:-1])
    assert not shards or 1 <= len(shards[-1].documents) <= size


def test_the_plan_is_lazy_so_memory_does_not_grow_with_the_corpus() -> None:
    endless = (SourceDocument(str(i), str(i)) for i in itertools.count())
    _, second = itertools.islice(plan_shards(endless, 5), 2)
    assert [doc.id for doc in second.documents] == ["5", "6", "7", "8", "9"]
    assert next(endless).id == "10"  # nothing beyond the shards taken was read


def test_a_fresh_folder_gets_the_plan_and_markers_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "out"
    with OutputFolder.claim(root, "jsonl.gz", PLAN, resume=False) as folder:
        assert folder.shard_path(3) == root / "shard-00003.jsonl.gz"
        assert not folder.is_done(3)
        results = [
            ShardResult(1, 10, 9, 0.5, [{"id": "b", "reason": "empty"}]),
            ShardResult(0, 10, 10, 0.4),
        ]
        for result in results:
            folder.mark_done(result)
        assert folder.is_done(1)
        assert folder.results() == sorted(results, key=lambda r: r.shard)
        errors = folder.merge_errors(folder.results())
    assert errors.read_text() == '{"id": "b", "reason": "empty"}\n'
    assert (root / ".storysplit" / "plan.json").exists()


def test_a_non_empty_folder_needs_resume(tmp_path: Path) -> None:
    (tmp_path / "something.txt").write_text("x")
    with (
        pytest.raises(JobError, match="not empty; pass --resume to continue"),
        OutputFolder.claim(tmp_path, "jsonl", PLAN, resume=False),
    ):
        pass


def test_resume_refuses_other_settings_and_folders_it_did_not_write(tmp_path: Path) -> None:
    with OutputFolder.claim(tmp_path / "out", "jsonl", PLAN, resume=False):
        pass
    changed = {**PLAN, "shard_size": 20, "threshold": 0.7}
    with (
        pytest.raises(JobError, match=r"shard_size was 10, now 20 \(and threshold\)"),
        OutputFolder.claim(tmp_path / "out", "jsonl", changed, resume=True),
    ):
        pass
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "data.jsonl").write_text("{}")
    with (
        pytest.raises(JobError, match="was not written by storysplit clean"),
        OutputFolder.claim(tmp_path / "other", "jsonl", PLAN, resume=True),
    ):
        pass


def test_resume_on_a_missing_folder_starts_fresh_and_removes_half_written_files(tmp_path: Path) -> None:
    root = tmp_path / "out"
    with OutputFolder.claim(root, "jsonl", PLAN, resume=True):
        pass
    stale = root / ".shard-00000.jsonl.1234.tmp"
    stale.write_text("half a shard")
    with OutputFolder.claim(root, "jsonl", PLAN, resume=True):
        assert not stale.exists()


def test_two_jobs_cannot_write_one_folder(tmp_path: Path) -> None:
    with (
        OutputFolder.claim(tmp_path / "out", "jsonl", PLAN, resume=False),
        pytest.raises(JobError, match="another storysplit clean is writing"),
        OutputFolder.claim(tmp_path / "out", "jsonl", PLAN, resume=True),
    ):
        pass

"""Files written in one rename: complete under their final name, or not there at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storysplit.atomic_files import TEMPORARY_GLOB, atomic_path, temporary_path, write_text_atomically


def test_write_text_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old", encoding="utf-8")
    write_text_atomically(target, "new ✓\n")
    assert target.read_text(encoding="utf-8") == "new ✓\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path: Path) -> None:
    target = tmp_path / "shard-00000.npz"
    target.write_bytes(b"complete")
    with pytest.raises(RuntimeError), atomic_path(target) as partial:
        partial.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"complete"
    assert list(tmp_path.glob(TEMPORARY_GLOB)) == []


def test_a_folder_can_be_built_and_renamed_into_place(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "shard-00000") as partial:
        partial.mkdir()
        (partial / "a.txt").write_text("a", encoding="utf-8")
    assert (tmp_path / "shard-00000" / "a.txt").read_text(encoding="utf-8") == "a"


def test_temporaries_are_hidden_per_process_and_never_match_the_final_pattern(tmp_path: Path) -> None:
    """A killed writer's leftover is found by `TEMPORARY_GLOB` and never read as a finished shard."""
    final = tmp_path / "shard-00003.npz"
    temporary = temporary_path(final)
    temporary.write_bytes(b"half")
    assert list(tmp_path.glob(TEMPORARY_GLOB)) == [temporary]
    assert list(tmp_path.glob("shard-*.npz")) == []


def test_numpy_archives_keep_their_name(tmp_path: Path) -> None:
    """`np.savez` given a path adds `.npz` to it; written through a handle, the rename finds its file."""
    target = tmp_path / "cache.npz"
    with atomic_path(target) as partial, partial.open("wb") as handle:
        np.savez(handle, x=np.arange(3))
    with np.load(target) as loaded:
        assert loaded["x"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.npz"]

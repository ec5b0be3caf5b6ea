"""Saving a model folder: staged and swapped in, never deleting a file it did not write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storysplit import artifact
from storysplit.artifact import LABELLER_FILE, MANIFEST, read_manifest, save_artifact
from storysplit.errors import ModelSaveError


def _labeller(seed: int) -> dict[str, np.ndarray]:
    """Arrays in the labeller's file layout (what is in them does not matter for saving)."""
    return {"format": np.array("test"), "weights": np.random.default_rng(seed).normal(size=(3, 4))}


def test_a_folder_with_other_files_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ModelSaveError, match=r"notes\.txt"):
        save_artifact(folder, _labeller(0), {"purpose": "test"})
    assert [path.name for path in folder.iterdir()] == ["notes.txt"]


def test_a_model_folder_is_replaced_whole(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    save_artifact(folder, _labeller(0), {"run": 1})
    save_artifact(folder, _labeller(2), {"run": 2})
    assert read_manifest(folder)["run"] == 2
    assert sorted(path.name for path in folder.iterdir()) == [LABELLER_FILE, MANIFEST]
    with np.load(folder / LABELLER_FILE) as saved:
        np.testing.assert_array_equal(saved["weights"], _labeller(2)["weights"])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]  # no staging left behind


def test_a_failed_save_leaves_the_previous_model_loadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "model"
    save_artifact(folder, _labeller(0), {"run": 1})

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(artifact, "save_sequence_head", broken)
    with pytest.raises(OSError, match="disk full"):
        save_artifact(folder, _labeller(3), {"run": 2})
    assert read_manifest(folder)["run"] == 1

"""Saving a model folder: staged and swapped in, never deleting a file it did not write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from storysplit import artifact
from storysplit.artifact import MANIFEST, read_manifest, save_artifact
from storysplit.errors import ModelSaveError


def _head(seed: int) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(60, 4))
    return LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))


def test_a_folder_with_other_files_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ModelSaveError, match=r"notes\.txt"):
        save_artifact(folder, {"head": _head(0)}, {"purpose": "test"})
    assert [path.name for path in folder.iterdir()] == ["notes.txt"]


def test_a_model_folder_is_replaced_whole(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    save_artifact(folder, {"head": _head(0), "reviser": _head(1)}, {"run": 1})
    save_artifact(folder, {"head": _head(2)}, {"run": 2})
    assert read_manifest(folder)["run"] == 2
    assert sorted(path.name for path in folder.iterdir()) == ["head.npz", "head.skops", MANIFEST]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]  # no staging left behind


def test_a_failed_save_leaves_the_previous_model_loadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "model"
    save_artifact(folder, {"head": _head(0)}, {"run": 1})

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(artifact, "save_head", broken)
    with pytest.raises(OSError, match="disk full"):
        save_artifact(folder, {"head": _head(3)}, {"run": 2})
    assert read_manifest(folder)["run"] == 1

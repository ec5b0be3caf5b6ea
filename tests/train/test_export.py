"""Saving a trained model: the manifest says how to rebuild it, and the folder rebuilds it exactly."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from storysplit import load_model
from storysplit.config import Config, config_to_dict
from storysplit.features.context import FEATURE_VERSION
from storysplit.model import StorySplitModel
from storysplit.sections import DecisionConfig
from storysplit.train import packages
from storysplit.train.export import code_version, git_commit, save_model


def _variant(model: StorySplitModel, **changes: Any) -> StorySplitModel:
    parts = {
        "labeller": model.labeller,
        "encoder": model.encoder,
        "segmenter": model.segmenter,
        "features": model.features,
        "decision": model.decision,
    }
    return StorySplitModel(**(parts | changes))


def _texts(seed_rows: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in seed_rows]


def test_the_manifest_records_what_rebuilds_the_model_and_where_it_came_from(
    tiny_model: StorySplitModel, tiny_config: Config, tmp_path: Path
) -> None:
    folder = save_model(tiny_model, tmp_path / "model", tiny_config, {"seeds.f1": 0.5})
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["labels"] == ["boilerplate", "main"]
    assert manifest["feature_version"] == FEATURE_VERSION
    assert manifest["segmenter"] == dataclasses.asdict(tiny_model.segmenter)
    assert manifest["features"] == dataclasses.asdict(tiny_model.features)
    assert manifest["encoder"]["fingerprint"] == tiny_model.encoder.fingerprint
    assert manifest["encoder"]["dimension"] == tiny_model.encoder.dimension
    assert manifest["encoder"]["config"] == dataclasses.asdict(tiny_config.encoder)
    assert manifest["decision"] == dataclasses.asdict(tiny_model.decision)
    assert manifest["config"] == json.loads(json.dumps(config_to_dict(tiny_config)))
    assert manifest["metrics"] == {"seeds.f1": 0.5}
    assert set(manifest["code_version"]) == {*packages.recorded(), "git_commit"}
    assert datetime.fromisoformat(manifest["created"]).tzinfo is not None


def test_the_decision_settings_round_trip(
    tiny_model: StorySplitModel, tiny_config: Config, seed_rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    model = _variant(tiny_model, decision=DecisionConfig(threshold=0.4, drop_repeats=False))
    folder = save_model(model, tmp_path / "model", tiny_config, {})
    loaded = load_model(folder)
    assert loaded.decision == model.decision
    for got, want in zip(
        loaded.predict_proba(_texts(seed_rows)), model.predict_proba(_texts(seed_rows)), strict=True
    ):
        np.testing.assert_array_equal(got, want)


def test_saving_again_replaces_the_model_in_place(
    tiny_model: StorySplitModel, tiny_config: Config, tmp_path: Path
) -> None:
    folder = save_model(
        _variant(tiny_model, decision=DecisionConfig(threshold=0.3)), tmp_path / "model", tiny_config, {}
    )
    save_model(tiny_model, folder, tiny_config, {"second": 1.0})
    loaded = load_model(folder)
    assert loaded.threshold == tiny_model.threshold and loaded.manifest["metrics"] == {"second": 1.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_code_version_names_missing_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packages, "recorded", lambda: ("numpy", "surely-not-an-installed-package"))
    versions = code_version()
    assert versions["surely-not-an-installed-package"] == "not installed"
    assert versions["numpy"] == np.__version__ and "git_commit" in versions


def _fake_git(head: str, status: str) -> Any:
    def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        output = head if args[1] == "rev-parse" else status
        return subprocess.CompletedProcess(args, 0, stdout=output, stderr="")

    return run


def test_git_commit_marks_a_dirty_checkout_and_is_unknown_outside_git(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(subprocess, "run", _fake_git("abc123\n", ""))
    assert git_commit() == "abc123"
    monkeypatch.setattr(subprocess, "run", _fake_git("abc123\n", " M train/fit.py\n"))
    assert git_commit() == "abc123-dirty"

    def no_git(args: list[str], **kwargs: Any) -> Any:
        raise subprocess.CalledProcessError(128, args)

    monkeypatch.setattr(subprocess, "run", no_git)
    assert git_commit() == "unknown"

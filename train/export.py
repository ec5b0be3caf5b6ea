"""Write a trained model folder: the labeller's arrays plus a manifest that says how to rebuild it."""

from __future__ import annotations

import dataclasses
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from storysplit.artifact import save_artifact
from storysplit.config import Config, config_to_dict
from storysplit.features.context import FEATURE_VERSION
from storysplit.labels import SegmentLabel
from storysplit.model import StorySplitModel
from storysplit.train import packages


def save_model(
    model: StorySplitModel,
    folder: Path,
    config: Config,
    metrics: dict[str, float],
    training_data: list[dict[str, object]] | None = None,
) -> Path:
    """Save `model` to `folder` with its resolved config, metrics, code version and training data.

    `training_data` is the model card's list of sets trained on, with their licences
    (`train.corpus.sources.training_data_card`): whoever ships the model must know them.
    """
    manifest: dict[str, Any] = {
        "labels": [SegmentLabel.BOILERPLATE.value, SegmentLabel.MAIN.value],
        "feature_version": FEATURE_VERSION,
        "segmenter": dataclasses.asdict(model.segmenter),
        "features": dataclasses.asdict(model.features),
        "encoder": {
            "config": dataclasses.asdict(config.encoder),
            "fingerprint": model.encoder.fingerprint,
            "dimension": model.encoder.dimension,
        },
        "decision": dataclasses.asdict(model.decision),
        "training_data": training_data or [],
        "config": config_to_dict(config),
        "metrics": metrics,
        "code_version": code_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return save_artifact(folder, model.labeller.arrays, manifest)


def code_version() -> dict[str, str]:
    """Versions of the packages that shape predictions (`packages.recorded`), and the git commit of
    this checkout."""
    versions = {}
    for package in packages.recorded():
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    versions["git_commit"] = git_commit()
    return versions


def git_commit() -> str:
    """The commit checked out here, with "-dirty" if tracked files changed since; "unknown" outside git."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent,
    ).stdout.strip()
    return result.stdout.strip() + ("-dirty" if dirty else "")

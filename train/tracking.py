"""MLflow tracking for a training run: config, dataset inputs, metrics, report and pyfunc model."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

# MLflow decides at import whether to send usage telemetry; when it does, it first writes an
# installation id to ~/.config/mlflow/telemetry.json, a file under the home folder nobody asked
# for. Only an environment variable set before that import stops it, so it is set here, before
# our only import of mlflow; MLFLOW_DISABLE_TELEMETRY=false still opts in.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
from datasets import Dataset
from mlflow.data.huggingface_dataset import from_huggingface

from storysplit.artifact import read_manifest
from storysplit.bundled import MODELS_FOLDER, PACKAGE_DIR
from storysplit.config import Config, config_to_dict
from storysplit.features.encoders import HASHING, resolve_model_path
from storysplit.features.onnx_encoder import is_onnx_folder
from storysplit.features.static_encoder import is_static_folder
from storysplit.model import ENCODER_FOLDER, locate_encoder
from storysplit.train import packages
from storysplit.train.export import git_commit

PYFUNC_CODE = Path(__file__).resolve().parent / "pyfunc_model.py"
CODE_SUBPACKAGES = ("evaluation", "features", "jobs", "train")
"""The subpackages of storysplit that a checkout keeps in top-level folders (pyproject's
`package-dir`), which the logged code gathers into the package."""

SQLITE = "sqlite:///"
DEFAULT_URI = f"{SQLITE}mlflow.db"


def tracking_uri(config: Config) -> str:
    """The config's URI if set, else `MLFLOW_TRACKING_URI`, else `mlflow.db` in the working directory.

    A SQLite file is named by its absolute path: the `models:/m-...` URI training prints resolves
    against this store only, so the tracking URI printed beside it must work from any folder (and
    MLflow must not create an empty `mlflow.db` wherever the model is loaded).
    """
    uri = config.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI
    return absolute_sqlite_uri(uri)


def absolute_sqlite_uri(uri: str) -> str:
    """`uri` with a relative SQLite path resolved against the working directory; other URIs as they are."""
    path = uri.removeprefix(SQLITE)
    if not uri.startswith(SQLITE) or path in ("", ":memory:") or Path(path).is_absolute():
        return uri
    return f"{SQLITE}{Path(path).resolve()}"


def serve_command(model_uri: str, uri: str) -> str:
    """The shell command that serves a logged model from any folder, with or without the venv activated.

    `mlflow models serve --env-manager local` runs `uvicorn` by name, from PATH: run as
    `.venv/bin/mlflow` in a shell whose venv is not activated, it fails with "uvicorn: not found".
    The command puts this interpreter's `bin/` first on PATH (which also picks its `mlflow`) and
    names the tracking store that `model_uri` lives in.
    """
    bin_dir = shlex.quote(str(Path(sys.executable).parent))  # not resolved: a venv's python is a link
    return (
        f'MLFLOW_TRACKING_URI={shlex.quote(uri)} PATH={bin_dir}:"$PATH" '
        f"mlflow models serve -m {shlex.quote(model_uri)} --env-manager local"
    )


@contextmanager
def tracked_run(config: Config, config_path: Path | None) -> Iterator[Any]:
    """An active MLflow run with the resolved config logged as params and as a file."""
    mlflow.set_tracking_uri(tracking_uri(config))
    mlflow.set_experiment(config.tracking.experiment)
    with mlflow.start_run() as run:
        resolved = config_to_dict(config)
        mlflow.log_params(_flatten(resolved))
        mlflow.log_dict(resolved, "config/resolved.yaml")
        if config_path is not None and config_path.is_file():
            mlflow.log_artifact(str(config_path), "config")
        yield run


def log_provenance(corpus_fingerprint: str) -> None:
    """Tag the run with what reproducing it takes: the git commit, package versions, the corpus.

    Tags: `git_commit` (with "-dirty" if tracked files had changed), `version.<package>` for
    `packages.training()` and Python, `data.corpus_fingerprint` (config, code and input files the
    corpus was built from); `log_dataset` adds `data.<split>.fingerprint`, of each split's rows.
    """
    tags = {
        "git_commit": git_commit(),
        "data.corpus_fingerprint": corpus_fingerprint or "unknown",
        "version.python": platform.python_version(),
    }
    tags.update({f"version.{package}": _installed(package) for package in packages.training()})
    mlflow.set_tags(tags)


def log_dataset(dataset: Dataset, corpus_dir: Path, split: str, context: str) -> None:
    """Record a corpus split as an MLflow dataset input and a tag, identified by its content."""
    fingerprint = content_fingerprint(dataset)
    mlflow.set_tag(f"data.{split}.fingerprint", fingerprint)
    mlflow.log_input(
        from_huggingface(
            dataset, path=str(corpus_dir), name=f"storysplit-corpus-{split}", digest=fingerprint[:16]
        ),
        context=context,
    )


def content_fingerprint(dataset: Dataset) -> str:
    """SHA-256 of a split's column names and rows in order: the same data gives the same value.

    `datasets`' own `_fingerprint` is not that: the same rows get one value when a corpus is built
    and another when it is loaded back from disk.
    """
    digest = hashlib.sha256(json.dumps(sorted(dataset.column_names)).encode("utf-8"))
    for batch in dataset.with_format("arrow").iter(batch_size=1000):
        for name in sorted(batch.column_names):
            column = json.dumps(batch[name].to_pylist(), ensure_ascii=False, sort_keys=True)
            digest.update(column.encode("utf-8"))
    return digest.hexdigest()


def log_metrics(metrics: dict[str, float]) -> None:
    mlflow.log_metrics({key: float(value) for key, value in metrics.items()})


def log_pyfunc_model(model_dir: Path, input_example: list[str], threshold: float) -> str:
    """Log the model folder as an MLflow pyfunc (models-from-code); returns its model URI.

    The logged model is self-contained: its `model_dir` artifact is the folder with the encoder
    copied into `encoder/` (`locate_encoder` looks there first) and its code is the storysplit
    package without the shipped models, so loading or serving it reads nothing from a checkout or
    an installed storysplit. MLflow infers the signature from `predict`'s type hints and the
    example's params: `threshold` is a parameter (default: the model's own), so
    `predict(texts, params={"threshold": t})` reaches the model instead of being dropped.
    """
    with tempfile.TemporaryDirectory() as staging:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_CODE),
            artifacts={"model_dir": str(with_encoder(model_dir, Path(staging) / "model"))},
            code_paths=[str(_package_code(Path(staging) / "storysplit"))],
            pip_requirements=[_pinned(package) for package in served_packages(model_dir)],
            input_example=(input_example, {"threshold": float(threshold)}),
        )
    return str(info.model_uri)


def with_encoder(model_dir: Path, target: Path) -> Path:
    """A copy of `model_dir` at `target` holding its encoder in `encoder/` (none for `hashing`)."""
    shutil.copytree(model_dir, target)
    encoder = read_manifest(model_dir)["encoder"]
    located = locate_encoder(model_dir, encoder["config"]["model"], encoder["fingerprint"])
    if located is not None and not (target / ENCODER_FOLDER).exists():
        shutil.copytree(located, target / ENCODER_FOLDER)
    return target


def _package_code(target: Path) -> Path:
    """A copy of the storysplit package as a wheel installs it, without the shipped models or
    bytecode caches: each subpackage is copied from where the import system finds it (in a
    checkout, the top-level folder pyproject maps to it), so none is missing from the logged code."""
    caches = shutil.ignore_patterns("__pycache__")

    def skipped(folder: str, names: list[str]) -> set[str]:
        top = {MODELS_FOLDER, *CODE_SUBPACKAGES} if Path(folder) == PACKAGE_DIR else set()
        return top | caches(folder, names)

    shutil.copytree(PACKAGE_DIR, target, ignore=skipped)
    for name in CODE_SUBPACKAGES:
        spec = importlib.util.find_spec(f"storysplit.{name}")
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(f"storysplit.{name} is not importable: pip install -e . in a checkout")
        shutil.copytree(next(iter(spec.submodule_search_locations)), target / name, ignore=caches)
    return target


def served_packages(model_dir: Path) -> tuple[str, ...]:
    """The packages serving the model in `model_dir` imports: torch only for a transformer encoder."""
    encoder = read_manifest(model_dir)["encoder"]["config"]
    path = resolve_model_path(encoder["model"])
    backend = encoder["backend"]
    numpy_or_onnx = (
        encoder["model"].startswith(HASHING)
        or backend == "onnx"
        or (backend == "auto" and (is_static_folder(path) or is_onnx_folder(path)))
    )
    return packages.served(transformer_encoder=not numpy_or_onnx)


def _pinned(package: str) -> str:
    installed = _installed(package)
    return package if installed == "not installed" else f"{package}=={installed}"


def _installed(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat

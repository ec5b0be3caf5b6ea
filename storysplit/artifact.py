"""The model folder: `manifest.json` plus the classifier head saved with skops (never pickle).

The manifest records what is needed to rebuild the exact inference path (segmenter, encoder and
its fingerprint, feature version, decoder parameters, config), what the model scored, and a
SHA-256 of every file. Loading refuses a folder whose manifest is missing or from another schema,
whose files were changed or added, or whose head holds types outside an explicit allow-list.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import skops.io as sio

from storysplit.errors import ModelLoadError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
HEAD_SUFFIX = ".skops"

# Types skops does not trust by default that our heads legitimately contain. Anything else in a
# head file (a function, an arbitrary class) makes loading fail instead of running it.
TRUSTED_HEAD_TYPES = frozenset(
    {
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.frozen._frozen.FrozenEstimator",
    }
)


def save_artifact(folder: Path, heads: dict[str, Any], manifest: dict[str, Any]) -> Path:
    """Write each head as `NAME.skops` and the manifest (with file checksums), replacing old files."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        if stale.is_file():
            stale.unlink()
    files = {}
    for name, head in heads.items():
        path = folder / f"{name}{HEAD_SUFFIX}"
        sio.dump(head, path)
        files[path.name] = _sha256(path)
    full = {**manifest, "schema_version": SCHEMA_VERSION, "files": files}
    (folder / MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a model folder, checked for schema version and file integrity."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelLoadError(f"model folder not found: {folder}")
    path = folder / MANIFEST
    if not path.is_file():
        raise ModelLoadError(f"{folder} is not a storysplit model: {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{path} is corrupt: {error}") from None
    if not isinstance(manifest, dict):
        raise ModelLoadError(f"{path} is corrupt: expected a JSON object")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ModelLoadError(
            f"{folder} has model schema version {version!r}; this storysplit reads version "
            f"{SCHEMA_VERSION} (retrain the model or install the storysplit that made it)"
        )
    _check_files(folder, manifest.get("files"))
    return manifest


def load_head(folder: Path, name: str) -> Any:
    """Load head `name` after checking that it holds only allow-listed types."""
    path = Path(folder) / f"{name}{HEAD_SUFFIX}"
    try:
        untrusted = set(sio.get_untrusted_types(file=path))
    except Exception as error:  # skops raises many types on a damaged zip
        raise ModelLoadError(f"{path} is corrupt: {error}") from None
    refused = sorted(untrusted - TRUSTED_HEAD_TYPES)
    if refused:
        raise ModelLoadError(f"{path} holds types that are not trusted, refusing to load: {refused}")
    try:
        return sio.load(path, trusted=sorted(untrusted))
    except Exception as error:
        raise ModelLoadError(f"{path} could not be loaded: {error}") from None


def _check_files(folder: Path, files: Any) -> None:
    if not isinstance(files, dict) or not files:
        raise ModelLoadError(f"{folder}/{MANIFEST} lists no checksums; the artifact is incomplete")
    present = {p.name for p in folder.iterdir() if p.is_file()} - {MANIFEST}
    unexpected = sorted(present - set(files))
    if unexpected:
        raise ModelLoadError(f"{folder} holds files the manifest does not list, refusing: {unexpected}")
    foreign = sorted(name for name in files if not name.endswith(HEAD_SUFFIX) or "/" in name)
    if foreign:
        raise ModelLoadError(f"{folder}/{MANIFEST} lists files that are not skops heads, refusing: {foreign}")
    for name, digest in files.items():
        path = folder / name
        if not path.is_file():
            raise ModelLoadError(f"{folder} is incomplete: {name} is missing")
        if _sha256(path) != digest:
            raise ModelLoadError(f"{path} does not match its checksum in the manifest; it was modified")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

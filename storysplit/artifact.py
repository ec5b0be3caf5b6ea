"""The model folder: `manifest.json`, the heads as numpy arrays (`.npz`) and as skops files.

The manifest records what is needed to rebuild the exact inference path (segmenter, encoder and
its fingerprint, feature version, decoder parameters, config), what the model scored, and a
SHA-256 of every file. Inference reads only the `.npz` heads (`storysplit.numpy_heads`: plain
arrays, never unpickled, no scikit-learn import); the `.skops` files keep the fitted scikit-learn
estimators for training, tracking and `storysplit export-heads`, and load only allow-listed types.
Loading refuses a folder whose manifest is missing or from another schema, whose files were
changed or added, or whose heads are not what their format allows.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Collection
from pathlib import Path
from typing import Any

from storysplit.atomic_files import write_text_atomically
from storysplit.errors import ModelLoadError, ModelSaveError
from storysplit.numpy_heads import NumpyHead, check_same_probabilities, head_arrays, save_head
from storysplit.numpy_heads import load_head as load_numpy_head

# 1: skops heads only; 2: numpy heads for inference plus the skops heads they were made from.
SCHEMA_VERSION = 2
MANIFEST = "manifest.json"
NUMPY_SUFFIX = ".npz"
SKOPS_SUFFIX = ".skops"
HEAD_SUFFIXES = (NUMPY_SUFFIX, SKOPS_SUFFIX)

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
    """Write each fitted scikit-learn head as `NAME.skops` and `NAME.npz`, then the manifest.

    The folder is written whole in a sibling staging folder and swapped in by renames, so a crash
    never leaves half a model, and an older model there is replaced only once the new one is
    complete. Only a new or empty folder, or a model folder holding nothing but its own files, is
    written to: anything else is refused, so no file the user put there is ever deleted. Each
    numpy head is checked against its estimator before anything is written, so a head the numpy
    predictor would score differently fails here, not at inference.

    Raises:
        ModelSaveError: `folder` holds files that are not a model's own.
    """
    import skops.io as sio

    folder = Path(folder)
    _check_writable(folder)
    arrays = {name: _checked_arrays(head) for name, head in heads.items()}
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, head in heads.items():
        sio.dump(head, staging / f"{name}{SKOPS_SUFFIX}")
        save_head(arrays[name], staging / f"{name}{NUMPY_SUFFIX}")
    _write_manifest(staging, manifest)
    if folder.exists():
        replaced = folder.with_name(f".{folder.name}.replaced")
        shutil.rmtree(replaced, ignore_errors=True)
        folder.rename(replaced)
        staging.rename(folder)
        shutil.rmtree(replaced)
    else:
        staging.rename(folder)
    return folder


def _check_writable(folder: Path) -> None:
    """Refuse a folder that holds anything but a model's own files (its manifest and listed heads)."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ModelSaveError(f"cannot write a model to {folder}: it is a file")
    present = {path.name for path in folder.iterdir()}
    own: set[str] = set()
    if MANIFEST in present:
        try:
            listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files", {})
        except (OSError, ValueError, AttributeError):
            listed = {}
        own = {MANIFEST, *(listed if isinstance(listed, dict) else {})}
    foreign = sorted(present - own)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise ModelSaveError(
            f"refusing to write a model into {folder}: it holds files that are not a storysplit model's "
            f"({shown}); choose a new or empty folder (training.output_dir)"
        )


def add_numpy_heads(folder: Path, heads: dict[str, Any], manifest: dict[str, Any]) -> Path:
    """Write `NAME.npz` for each scikit-learn head of an existing folder and re-sign the manifest.

    `storysplit export-heads` uses this on folders saved before numpy heads existed; the skops
    files stay as they are.
    """
    arrays = {name: _checked_arrays(head) for name, head in heads.items()}
    for name in arrays:
        save_head(arrays[name], folder / f"{name}{NUMPY_SUFFIX}")
    _write_manifest(folder, manifest)
    return folder


def read_manifest(folder: Path, schema_versions: Collection[int] = (SCHEMA_VERSION,)) -> dict[str, Any]:
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
    if version not in schema_versions:
        hint = (
            f"convert it with `storysplit export-heads {folder}`"
            if version == 1
            else "retrain the model or install the storysplit that made it"
        )
        raise ModelLoadError(
            f"{folder} has model schema version {version!r}; this storysplit reads version "
            f"{SCHEMA_VERSION} ({hint})"
        )
    _check_files(folder, manifest.get("files"))
    return manifest


def manifest_digest(folder: Path) -> str:
    """SHA-256 of a model folder's manifest.json: the model's identity, since the manifest holds
    the checksum of every other file. Call after `read_manifest`, which checks those files."""
    return hashlib.sha256((Path(folder) / MANIFEST).read_bytes()).hexdigest()


def load_head(folder: Path, name: str, manifest: dict[str, Any]) -> NumpyHead:
    """Load head `name` from its `.npz` (no scikit-learn, nothing unpickled).

    `manifest` is the folder's checked manifest (`read_manifest`): the file must be one it signs.
    """
    file = f"{name}{NUMPY_SUFFIX}"
    if file not in manifest.get("files", {}):
        raise ModelLoadError(
            f"{folder} has no numpy head {file}; write it with `storysplit export-heads {folder}`"
        )
    return load_numpy_head(Path(folder) / file)


def load_skops_head(folder: Path, name: str) -> Any:
    """Load the scikit-learn estimator of head `name` after checking that it holds only allow-listed types."""
    import skops.io as sio

    path = Path(folder) / f"{name}{SKOPS_SUFFIX}"
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


def _checked_arrays(head: Any) -> dict[str, Any]:
    arrays = head_arrays(head)
    check_same_probabilities(head, arrays)
    return arrays


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """The manifest with the checksum of every head file in `folder`, replaced in one rename."""
    files = {
        path.name: _sha256(path)
        for path in sorted(folder.iterdir())
        if path.is_file() and path.suffix in HEAD_SUFFIXES
    }
    full = {**manifest, "schema_version": SCHEMA_VERSION, "files": files}
    write_text_atomically(folder / MANIFEST, json.dumps(full, indent=2, sort_keys=True) + "\n")


def _check_files(folder: Path, files: Any) -> None:
    if not isinstance(files, dict) or not files:
        raise ModelLoadError(f"{folder}/{MANIFEST} lists no checksums; the artifact is incomplete")
    present = {p.name for p in folder.iterdir() if p.is_file()} - {MANIFEST}
    unexpected = sorted(present - set(files))
    if unexpected:
        raise ModelLoadError(f"{folder} holds files the manifest does not list, refusing: {unexpected}")
    foreign = sorted(name for name in files if not name.endswith(HEAD_SUFFIXES) or "/" in name)
    if foreign:
        raise ModelLoadError(f"{folder}/{MANIFEST} lists files that are not model heads, refusing: {foreign}")
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

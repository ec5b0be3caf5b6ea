"""The model folder: `manifest.json` and the sequence labeller's arrays (`labeller.npz`).

The manifest records what is needed to rebuild the exact inference path (segmenter, encoder and
its fingerprint, feature version, decision settings, config), what the model was trained on and
under which licences, what it scored, and a SHA-256 of every file. The labeller is plain arrays
(`storysplit.sequence_head`: never unpickled, no torch). Loading refuses a folder whose manifest
is missing or from another schema, whose files were changed or added, or whose arrays are not
what the format allows.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from storysplit.atomic_files import write_text_atomically
from storysplit.errors import ModelLoadError, ModelSaveError
from storysplit.sequence_head import SequenceHead, load_sequence_head, save_sequence_head

# 3: the page-level sequence labeller (1 and 2 held the scikit-learn heads it replaced).
SCHEMA_VERSION = 3
MANIFEST = "manifest.json"
LABELLER_FILE = "labeller.npz"


def save_artifact(folder: Path, labeller: dict[str, np.ndarray], manifest: dict[str, Any]) -> Path:
    """Write the labeller's arrays as `labeller.npz`, then the manifest that signs it.

    The folder is written whole in a sibling staging folder and swapped in by renames, so a crash
    never leaves half a model, and an older model there is replaced only once the new one is
    complete. Only a new or empty folder, or a model folder holding nothing but its own files, is
    written to: anything else is refused, so no file the user put there is ever deleted.

    Raises:
        ModelSaveError: `folder` holds files that are not a model's own.
    """
    folder = Path(folder)
    _check_writable(folder)
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    save_sequence_head(labeller, staging / LABELLER_FILE)
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
    """Refuse a folder that holds anything but a model's own files (its manifest and what it lists)."""
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


def manifest_digest(folder: Path) -> str:
    """SHA-256 of a model folder's manifest.json: the model's identity, since the manifest holds
    the checksum of every other file. Call after `read_manifest`, which checks those files."""
    return hashlib.sha256((Path(folder) / MANIFEST).read_bytes()).hexdigest()


def load_labeller(folder: Path, manifest: dict[str, Any]) -> SequenceHead:
    """Load the folder's sequence labeller (nothing unpickled, no torch).

    `manifest` is the folder's checked manifest (`read_manifest`): the file must be one it signs.
    """
    if LABELLER_FILE not in manifest.get("files", {}):
        raise ModelLoadError(f"{folder} has no {LABELLER_FILE}; it is not a model of this storysplit")
    return load_sequence_head(Path(folder) / LABELLER_FILE)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """The manifest with the checksum of the labeller file in `folder`, replaced in one rename."""
    files = {
        path.name: _sha256(path)
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name == LABELLER_FILE
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
    foreign = sorted(name for name in files if name != LABELLER_FILE)
    if foreign:
        raise ModelLoadError(f"{folder}/{MANIFEST} lists files that are not a model's, refusing: {foreign}")
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

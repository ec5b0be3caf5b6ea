"""What identifies a model folder: a hash of its files, which a trained head records."""

from __future__ import annotations

import hashlib
from pathlib import Path


def model_fingerprint(model_path: str) -> str:
    """SHA-256 over a local model folder's file names and contents (about 0.2 s for MiniLM).

    Any re-export, other revision or other model changes it; a hub name that is not a local
    folder is its own fingerprint.
    """
    root = Path(model_path)
    if not root.is_dir():
        return model_path
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(".") or "__pycache__" in relative or relative == "README.md":
            continue
        digest.update(relative.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()

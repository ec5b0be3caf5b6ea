"""What identifies a model folder: a hash of its files, which a trained head records."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from storysplit.features.user_cache import read_cached, write_cached

_CACHE_KIND = "fingerprints"
_HEX_DIGEST = re.compile(rb"[0-9a-f]{64}")  # a damaged entry is hashed again, never trusted


def model_fingerprint(model_path: str) -> str:
    """SHA-256 over a local model folder's file names and contents.

    Any re-export, other revision or other model changes it; a hub name that is not a local
    folder is its own fingerprint. Hashing the default encoder's weights cost time on every
    start, so the digest is kept in the user's cache under the folder's path and its files'
    sizes, inodes and modification and change times: any write to a file changes its change
    time (which no tool can set back), and with it the entry looked up.
    """
    root = Path(model_path)
    if not root.is_dir():
        return model_path
    every = [(path.relative_to(root).as_posix(), path) for path in sorted(root.rglob("*")) if path.is_file()]
    files = [(relative, path) for relative, path in every if _hashed(relative)]
    stats = [(relative, os.stat(path)) for relative, path in files]
    identity = repr(
        [str(root.resolve())]
        + [(r, s.st_size, s.st_ino, s.st_dev, s.st_mtime_ns, s.st_ctime_ns) for r, s in stats]
    )
    name = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
    cached = read_cached(_CACHE_KIND, name)
    if cached is not None and _HEX_DIGEST.fullmatch(cached):
        return cached.decode("ascii")
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(relative.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    write_cached(_CACHE_KIND, name, digest.hexdigest().encode("ascii"))
    return digest.hexdigest()


def _hashed(relative: str) -> bool:
    return not (relative.startswith(".") or "__pycache__" in relative or relative == "README.md")

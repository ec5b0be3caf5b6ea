"""The user's cache folder: what storysplit builds once per machine and then only reads back.

Kept here: tokenizers converted for the sentencepiece library (`features.sentencepiece_ids`) and
model folders' fingerprints (`features.model_folder`). Entries are named by a digest of what they
were made from, written whole (`storysplit.atomic_files`), and only ever a speed-up: a folder that
cannot be written, or an entry that cannot be read, means building the thing again.
"""

from __future__ import annotations

import os
from pathlib import Path

from storysplit.atomic_files import atomic_path

CACHE_ENV = "STORYSPLIT_CACHE"
"""Names the cache folder (default: `$XDG_CACHE_HOME/storysplit`, else `~/.cache/storysplit`)."""


def cache_folder() -> Path | None:
    """$STORYSPLIT_CACHE, else the XDG cache folder's storysplit/ (None with no home folder)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    try:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except RuntimeError:
        return None
    return Path(base) / "storysplit"


def cached_path(kind: str, name: str) -> Path | None:
    """Where the entry `name` of `kind` lives (whether or not it exists yet)."""
    folder = cache_folder()
    return None if folder is None else folder / kind / name


def read_cached(kind: str, name: str) -> bytes | None:
    """The entry's bytes, or None when it is not there or cannot be read."""
    path = cached_path(kind, name)
    try:
        return None if path is None else path.read_bytes()
    except OSError:
        return None


def write_cached(kind: str, name: str, data: bytes) -> None:
    """Keep an entry; a folder that cannot be written only means building it again next time."""
    path = cached_path(kind, name)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temporary:
            temporary.write_bytes(data)
    except OSError:
        pass

"""Files that appear whole or not at all: written under a temporary name beside the final one, then renamed.

A reader, or a job resumed after a kill, never sees half a file: the temporary sits in the final
file's folder, so `os.replace` onto the final name is atomic (POSIX, one file system). Temporary
names are hidden and carry the process id (`.NAME.PID.tmp`): two processes finishing the same file
each rename a complete one, and what a killed writer left matches `TEMPORARY_GLOB`, never the
final file's own pattern.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

TEMPORARY_GLOB = ".*.tmp"


def temporary_path(final: Path) -> Path:
    """Where this process builds `final` before renaming it into place."""
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path to write `final` at (a file or a folder), renamed onto `final` once the block ends.

    If the block raises, the temporary is removed and `final` is left as it was.
    """
    temporary = temporary_path(final)
    try:
        yield temporary
    except BaseException:
        remove_temporary(temporary)
        raise
    os.replace(temporary, final)


def write_text_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) in one rename."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def remove_temporary(path: Path) -> None:
    """Delete a temporary file or folder, if it is there."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)

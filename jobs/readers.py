"""Stream documents out of a corpus: JSONL, gzipped JSONL, Parquet, or a folder of .txt files.

Everything is read lazily (JSONL line by line, Parquet by record batches, folders one directory
listing at a time), so memory does not grow with the corpus. A document that cannot be read
(bad JSON, bad encoding, no text field, empty, too large, a truncated file) comes back as a
`SourceDocument` with a `problem` instead of stopping the stream; the job writes it to its errors
file. Order is deterministic (files sorted by name, records in file order): the shard plan and
`--resume` rely on it. Reading a .txt file, a JSONL file or one record lives in
`storysplit.records`, which `storysplit segment` shares, so both say the same about a bad input.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storysplit.errors import InputError
from storysplit.records import ReadSettings, SourceDocument, parse_record, read_jsonl_file, read_text_file

FORMAT_SUFFIXES = {
    ".jsonl.gz": "jsonl.gz",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
    ".txt": "txt",
    ".text": "txt",
}
PARQUET_BATCH_ROWS = 256


@dataclass(frozen=True)
class InputSource:
    """A corpus on disk: a file, or a folder whose data files all have one format."""

    root: Path
    format: str

    def files(self) -> Iterator[Path]:
        """The data files, sorted by path (a single file yields itself)."""
        if self.root.is_file():
            yield self.root
            return
        yield from (path for path in _walk_sorted(self.root) if file_format(path) == self.format)

    def fingerprint(self) -> dict[str, int]:
        """Number, total size and latest modification time of the data files.

        A resumed job must see the same input: the shard plan is positional, so a file added,
        grown or rewritten in between would shift documents between shards.
        """
        files = size = latest = 0
        for path in self.files():
            status = path.stat()
            files, size, latest = files + 1, size + status.st_size, max(latest, status.st_mtime_ns)
        return {"files": files, "bytes": size, "latest_mtime_ns": latest}

    def name(self, path: Path) -> str:
        """`path` as shown in ids and messages: relative to the input folder, or the file name."""
        return path.name if self.root.is_file() else path.relative_to(self.root).as_posix()


def file_format(path: Path) -> str | None:
    """The format a file name says it holds, or None."""
    name = path.name.lower()
    return next((fmt for suffix, fmt in FORMAT_SUFFIXES.items() if name.endswith(suffix)), None)


def open_input(path: Path) -> InputSource:
    """Find out what `path` holds.

    Raises:
        InputError: missing path, a file of an unknown format, or a folder with no data files or
            with several formats.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        fmt = file_format(path)
        if fmt is None or fmt == "txt":
            raise InputError(
                f"{path}: cannot tell its format; expected a .jsonl, .jsonl.gz or .parquet file "
                "or a folder of .txt files"
            )
        formats = {fmt}
    else:
        formats = {fmt for fmt in map(file_format, _walk_sorted(path)) if fmt}
    if not formats:
        raise InputError(f"{path}: holds no .jsonl, .jsonl.gz, .parquet or .txt files")
    if len(formats) > 1:
        raise InputError(f"{path}: mixes formats ({', '.join(sorted(formats))}); clean each separately")
    return InputSource(path, formats.pop())


def parquet_schema(source: InputSource, settings: ReadSettings) -> Any:
    """The Arrow schema all of `source`'s Parquet files share.

    Raises:
        InputError: a file lacks the text column, already has a column the output adds, or
            has another schema than the first file.
    """
    import pyarrow.parquet as pq

    schema = None
    for path in source.files():
        file_schema = pq.read_schema(path).remove_metadata()
        if schema is None:
            schema = file_schema
            if settings.text_field not in schema.names:
                raise InputError(
                    f"{path}: no column {settings.text_field!r} (columns: {', '.join(schema.names)}); "
                    "name the text column with --text-field"
                )
            clashes = [name for name in settings.added_fields if name in schema.names]
            if clashes:
                raise InputError(f"{path}: already has column(s) {clashes} that the output would add")
        elif not file_schema.equals(schema):
            raise InputError(f"{path}: its columns differ from the first file's ({schema}); clean it apart")
    return schema


def read_documents(source: InputSource, settings: ReadSettings) -> Iterator[SourceDocument]:
    """Every document of `source` in order; unreadable ones carry a `problem`."""
    for path in source.files():
        name = source.name(path)
        if source.format == "txt":
            yield read_text_file(path, name, settings.max_bytes)
        elif source.format == "parquet":
            yield from _read_parquet(path, name, settings)
        else:
            yield from read_jsonl_file(path, name, settings)


def _read_parquet(path: Path, name: str, settings: ReadSettings) -> Iterator[SourceDocument]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    number = 0
    try:
        with pq.ParquetFile(path) as parquet:
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                for record in batch.to_pylist():
                    number += 1
                    yield parse_record(record, f"{name}:{number}", settings)
    except (OSError, pa.ArrowException) as error:
        where = f"{name}:{number + 1}"
        yield SourceDocument(where, where, problem=f"{where}: cannot read further ({error}); rest skipped")


def _walk_sorted(folder: Path) -> Iterator[Path]:
    """Files under `folder`, depth first, sorted by name; hidden and `_`-prefixed entries skipped.

    Lists one directory at a time, so a folder of millions of files is never held in memory at once
    beyond its largest directory. Skips what Ray and Spark skip (`_SUCCESS`, `.crc` files, state).
    """
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            yield from _walk_sorted(Path(entry.path))
        elif entry.is_file():
            yield Path(entry.path)

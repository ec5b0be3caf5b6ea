"""Input files and JSONL records as documents: each bad one named and skipped, never the stream.

Shared by `storysplit segment` (files and stdin) and `storysplit clean` (`jobs.readers`, its Ray
engine), so both read a .txt file or a JSONL line alike and say the same thing when they cannot:
a file that is unreadable, too large or not UTF-8 text, and a line that is not UTF-8, not JSON,
not an object, has no string text field, or holds a text that `storysplit.documents.check_text`
refuses, comes back as a `SourceDocument` with a `problem` naming `file` or `file:line`, and the
caller reports it and goes on. No line is read past `line_limit` bytes, so one corrupt file (or an
endless stdin) cannot exhaust memory.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from storysplit.documents import DEFAULT_MAX_BYTES, check_text, decode_document, oversize_message
from storysplit.errors import InputError

_LINE_SLACK = 1 << 20


@dataclass(frozen=True)
class ReadSettings:
    """How to find a document's text and id in a record, and what to refuse.

    Attributes:
        text_field: Field (column) holding the text.
        id_field: Field holding the id; a record without one is named `file:line`.
        max_bytes: Longest text accepted, in characters (`storysplit.documents.check_text`).
        added_fields: Fields the output adds; a record that already has one is refused rather
            than silently overwritten.
    """

    text_field: str = "text"
    id_field: str = "id"
    max_bytes: int = DEFAULT_MAX_BYTES
    added_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceDocument:
    """One input document, or the reason it cannot be read.

    Attributes:
        id: The record's id field, a .txt file's path under the input folder, or `file:line`.
        where: `file:line` (1-based line or Parquet row), for messages.
        record: The whole input record (empty for .txt files); the output keeps its other fields.
        text: The text to clean; empty when `problem` is set.
        problem: Why the document cannot be cleaned, naming where it is.
    """

    id: str
    where: str
    record: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    problem: str | None = None


def read_text_file(path: Path, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceDocument:
    """A text file as one document whose id is `name`; a file over `max_bytes` is refused unread."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return SourceDocument(name, name, problem=oversize_message(name, size, max_bytes))
        text = decode_document(path.read_bytes(), name, max_bytes)
    except InputError as error:
        return SourceDocument(name, name, problem=str(error))
    except OSError as error:
        return SourceDocument(name, name, problem=f"{name}: cannot read ({error.strerror})")
    return SourceDocument(name, name, text=text)


def read_jsonl_file(path: Path, name: str, settings: ReadSettings) -> Iterator[SourceDocument]:
    """Each record of a .jsonl (or gzipped .jsonl.gz) file, as `read_jsonl` reads a stream."""
    try:
        handle = (
            cast(BinaryIO, gzip.GzipFile(path, "rb"))
            if path.name.lower().endswith(".gz")
            else path.open("rb")
        )
    except OSError as error:
        yield SourceDocument(name, name, problem=f"{name}: cannot read ({error.strerror})")
        return
    with handle:
        yield from read_jsonl(handle, name, settings)


def read_jsonl(handle: IO[bytes], name: str, settings: ReadSettings) -> Iterator[SourceDocument]:
    """Each record of a JSONL stream as a document; a bad line is a document with a problem.

    A stream that breaks off (an I/O error, a truncated gzip file) ends with one document whose
    problem names the line where reading stopped.
    """
    limit = line_limit(settings)
    number = 0
    try:
        for number, raw in jsonl_lines(handle, limit):
            where = f"{name}:{number}"
            yield overlong_line(where, limit) if raw is None else parse_jsonl_line(raw, where, settings)
    except (OSError, EOFError) as error:
        where = f"{name}:{number + 1}"
        yield SourceDocument(where, where, problem=f"{where}: cannot read further ({error}); rest skipped")


def parse_jsonl_line(raw: bytes, where: str, settings: ReadSettings) -> SourceDocument:
    """One JSONL line (without its newline) as a document."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return SourceDocument(where, where, problem=f"{where}: not valid UTF-8 at byte {error.start}")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        return SourceDocument(where, where, problem=f"{where}: not valid JSON ({error.msg})")
    return parse_record(record, where, settings)


def parse_record(record: Any, where: str, settings: ReadSettings) -> SourceDocument:
    """A decoded record (JSON object or Parquet row) as a document, checked like any input text."""
    if not isinstance(record, dict):
        return SourceDocument(
            where, where, problem=f"{where}: expected an object, got {type(record).__name__}"
        )
    raw_id = record.get(settings.id_field)
    doc_id = where if raw_id is None else str(raw_id)
    text = record.get(settings.text_field)
    if not isinstance(text, str):
        problem = f"{where}: no string {settings.text_field!r} field (fields: {', '.join(map(str, record))})"
        return SourceDocument(doc_id, where, record, problem=problem)
    clashes = [name for name in settings.added_fields if name in record]
    if clashes:
        problem = f"{where}: already has field(s) {clashes} that the output would overwrite"
        return SourceDocument(doc_id, where, record, problem=problem)
    try:
        checked = check_text(text, where, settings.max_bytes)
    except InputError as error:
        return SourceDocument(doc_id, where, record, problem=str(error))
    return SourceDocument(doc_id, where, record, text=checked)


def line_limit(settings: ReadSettings) -> int:
    """Longest JSONL line read: JSON escapes take up to 6 bytes per character, so a longer line
    cannot hold an accepted text, and reading it whole would let one corrupt file exhaust memory."""
    return 6 * settings.max_bytes + _LINE_SLACK


def jsonl_lines(handle: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """`(line number, line)` for each non-blank line of a JSONL stream; None for a line over `limit` bytes."""
    for number, raw in enumerate(_bounded_lines(handle, limit), start=1):
        if raw is None or raw.strip():
            yield number, raw


def overlong_line(where: str, limit: int) -> SourceDocument:
    return SourceDocument(where, where, problem=f"{where}: line is over {limit:,} bytes")


def _bounded_lines(handle: IO[bytes], limit: int) -> Iterator[bytes | None]:
    """Lines without their line ending; None for a line longer than `limit` (skipped unread)."""
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = handle.readline(limit)
            yield None
            continue
        yield line.rstrip(b"\r\n")

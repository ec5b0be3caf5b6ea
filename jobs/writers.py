"""Write cleaned documents in the input's format, one shard file (or folder) at a time.

A writer fills a temporary name next to its final one (`storysplit.atomic_files.temporary_path`)
and renames it on `commit`, so a file under a final name is always complete: a job killed
mid-shard leaves only a temporary file, which the next run replaces. Temporary names carry the
process id, so two processes finishing the same shard (a killed job's last worker and its resumed
run) each rename a complete file. Gzip output has a
fixed header time, so the same documents always give the same bytes.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any, Protocol

from storysplit.atomic_files import temporary_path
from storysplit.jobs.cleaning import CleanedText, CleanOptions
from storysplit.output_records import REMOVED_FIELD, SEGMENTS_FIELD
from storysplit.records import SourceDocument

OUTPUT_SUFFIXES = {"jsonl": ".jsonl", "jsonl.gz": ".jsonl.gz", "parquet": ".parquet", "txt": ""}
PARQUET_ROW_GROUP = 1024


class ShardWriter(Protocol):
    """Collects a shard's cleaned documents and publishes them all at once."""

    def add(self, document: SourceDocument, cleaned: CleanedText) -> None: ...

    def commit(self) -> None: ...


def output_record(document: SourceDocument, cleaned: CleanedText, text_field: str) -> dict[str, Any]:
    """The input record with its text replaced by the cleaned text, plus any extra fields asked for."""
    return {**document.record, text_field: cleaned.text, **cleaned.extra_fields()}


def jsonl_line(record: dict[str, Any]) -> str:
    """One output JSONL line (UTF-8 kept as is, as `storysplit segment` writes it)."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def open_shard_writer(
    fmt: str, final: Path, text_field: str, options: CleanOptions, parquet_schema: Any = None
) -> ShardWriter:
    """A writer for one shard of format `fmt` ("jsonl", "jsonl.gz", "parquet" or "txt")."""
    if fmt in ("jsonl", "jsonl.gz"):
        return JsonlShardWriter(final, text_field)
    if fmt == "parquet":
        return ParquetShardWriter(final, text_field, output_schema(parquet_schema, options))
    if fmt == "txt":
        return TextFolderShardWriter(final)
    raise ValueError(f"no writer for format {fmt!r}")


class JsonlShardWriter:
    """One JSONL file per shard, gzipped when its name ends in .gz."""

    def __init__(self, final: Path, text_field: str) -> None:
        self.final = final
        self.text_field = text_field
        self._temporary = temporary_path(final)
        self._file = self._temporary.open("wb")
        # mtime=0 and no file name in a gzip header: the same records always give the same bytes.
        stream = (
            gzip.GzipFile(filename="", mode="wb", fileobj=self._file, mtime=0)
            if final.name.endswith(".gz")
            else self._file
        )
        self._handle = io.TextIOWrapper(stream, encoding="utf-8")

    def add(self, document: SourceDocument, cleaned: CleanedText) -> None:
        self._handle.write(jsonl_line(output_record(document, cleaned, self.text_field)))

    def write_line(self, line: str) -> None:
        """Write an already serialised record (the Ray path serialises on its workers)."""
        self._handle.write(line)

    def commit(self) -> None:
        self._handle.close()  # closes the gzip stream, which leaves the file under it open
        self._file.close()
        os.replace(self._temporary, self.final)


class ParquetShardWriter:
    """One Parquet file per shard with the input's columns plus the extra ones asked for."""

    def __init__(self, final: Path, text_field: str, schema: Any) -> None:
        import pyarrow.parquet as pq

        self.final = final
        self.text_field = text_field
        self.schema = schema
        self._temporary = temporary_path(final)
        self._writer = pq.ParquetWriter(self._temporary, schema)
        self._rows: list[dict[str, Any]] = []

    def add(self, document: SourceDocument, cleaned: CleanedText) -> None:
        self._rows.append(output_record(document, cleaned, self.text_field))
        if len(self._rows) >= PARQUET_ROW_GROUP:
            self._flush()

    def write_table(self, table: Any) -> None:
        """Write rows already laid out in this writer's schema (the Ray path builds them on workers)."""
        self._writer.write_table(table.cast(self.schema))

    def commit(self) -> None:
        self._flush()
        self._writer.close()
        os.replace(self._temporary, self.final)

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []


class TextFolderShardWriter:
    """A folder per shard holding each document's cleaned text under its input path.

    Extra fields go beside it: `<name>.removed.txt` and `<name>.segments.json`.
    """

    def __init__(self, final: Path) -> None:
        self.final = final
        self._temporary = temporary_path(final)
        shutil.rmtree(self._temporary, ignore_errors=True)
        self._temporary.mkdir(parents=True)

    def add(self, document: SourceDocument, cleaned: CleanedText) -> None:
        target = self._temporary / document.id
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(cleaned.text + "\n", encoding="utf-8")
        extra = cleaned.extra_fields()
        if REMOVED_FIELD in extra:
            target.with_name(f"{target.stem}.removed.txt").write_text(
                extra[REMOVED_FIELD] + "\n", encoding="utf-8"
            )
        if SEGMENTS_FIELD in extra:
            target.with_name(f"{target.stem}.segments.json").write_text(
                json.dumps(extra[SEGMENTS_FIELD]), encoding="utf-8"
            )

    def commit(self) -> None:
        # A folder from an earlier run that died before marking the shard done is stale: replace it.
        shutil.rmtree(self.final, ignore_errors=True)
        os.replace(self._temporary, self.final)


def output_schema(input_schema: Any, options: CleanOptions) -> Any:
    """The Arrow schema of cleaned Parquet output: the input's plus the extra columns asked for."""
    import pyarrow as pa

    schema = input_schema
    if options.keep_removed:
        schema = schema.append(pa.field(REMOVED_FIELD, pa.string()))
    if options.keep_segments:
        segment = pa.struct(
            [
                ("start", pa.int64()),
                ("end", pa.int64()),
                ("label", pa.string()),
                ("probability", pa.float64()),
            ]
        )
        schema = schema.append(pa.field(SEGMENTS_FIELD, pa.list_(segment)))
    return schema

"""`storysplit clean --engine ray`: the same cleaning on a Ray cluster, with Ray Data.

Read tasks stream JSONL lines or Parquet rows with their `file:line` position (so ids and error
reasons match the local engine's), `map_batches` runs `RayCleaner` on a pool of actors that each
load the model once, and a datasink writes the cleaned records with the local engine's writers
(same format and records: the same text and labels, probabilities to float rounding, since
the labeller reads a batch's documents together and Ray batches them differently) plus every
failed document to `.storysplit/errors.jsonl`.

With `--site-field`, a first pass counts lines per site as a Ray aggregation: each block gives
its (site, line) hashes with their page counts (`jobs.sites.count_sites`), a group-by on the hash
sums them across blocks, and the driver keeps the lines seen on two pages or more. The table is
saved to `.storysplit/sites.npz` like the local engine's, put in the object store once, and every
actor reads it from there, so the cleaned records are the local engine's.

What differs from the local engine, and why: Ray decides block boundaries and order, so output
files are `part-NNNNN-<id>` parts rather than the positional shard plan, and there is no
`--resume` (rerun into an empty folder); a UDF runs outside the actor's main thread, where no
alarm signal can be delivered, so there is no per-document time limit (`--max-bytes` still
bounds the work per document). .txt folders are a local-engine input. OUTPUT must be a folder
every node can write (a shared file system) when the cluster has several machines.
"""

from __future__ import annotations

import functools
import io
import json
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import ray
import ray.data
from ray.data.block import Block
from ray.data.datasource import Datasink, FileBasedDatasource
from threadpoolctl import threadpool_limits

from storysplit.features.site_evidence import SiteTable
from storysplit.jobs.cleaning import CleanFailure, CleanOptions, clean_batch, load_ready_model
from storysplit.jobs.errors import JobError
from storysplit.jobs.job import CleanJob, JobSummary, check_output_is_outside_input, job_plan
from storysplit.jobs.readers import InputSource, open_input, parquet_schema
from storysplit.jobs.shards import ERRORS_FILE, OutputFolder
from storysplit.jobs.sites import (
    count_sites,
    describe_site_table,
    document_site,
    save_site_table,
    segment_max_chars,
)
from storysplit.jobs.writers import (
    OUTPUT_SUFFIXES,
    JsonlShardWriter,
    ParquetShardWriter,
    jsonl_line,
    output_record,
    output_schema,
)
from storysplit.records import (
    ReadSettings,
    SourceDocument,
    jsonl_lines,
    line_limit,
    overlong_line,
    parse_jsonl_line,
    parse_record,
)

WHERE_COLUMN = "storysplit_where"
LINE_COLUMN = "storysplit_line"
ID_COLUMN = "storysplit_id"
ERROR_COLUMN = "storysplit_error"
KIND_COLUMN = "storysplit_kind"
KEY_COLUMN = "storysplit_key"
COUNT_COLUMN = "storysplit_count"
SUMMED_COLUMN = f"sum({COUNT_COLUMN})"
RAY_FORMATS = ("jsonl", "jsonl.gz", "parquet")
LINES_PER_BLOCK = 1024
_SITE, _LINE = 0, 1


def run_ray_job(job: CleanJob) -> JobSummary:
    """Clean `job.input` into `job.output` on Ray (at `job.ray_address`, `$RAY_ADDRESS`, or a local one)."""
    source = open_input(job.input)
    if source.format not in RAY_FORMATS:
        raise JobError(
            f"the ray engine reads JSONL or Parquet, not a folder of .txt; use --engine local for {job.input}"
        )
    if job.resume:
        raise JobError("--resume is for the local engine; rerun a Ray job into an empty folder")
    check_output_is_outside_input(job.input, job.output)
    schema = parquet_schema(source, job.read) if source.format == "parquet" else None
    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(address=job.ray_address, include_dashboard=False)
    try:
        with OutputFolder.claim(
            job.output, source.format, job_plan(job, source, engine="ray"), resume=False
        ) as out:
            start = time.perf_counter()
            site_table = None
            if job.site_field:
                site_table = ray.put(count_sites_on_ray(source, job.read, job.site_field, job.model, out))
            sink = CleanedPartsDatasink(out, job.read.text_field, job.options, schema)
            cleaned = clean_on_ray(
                source,
                job.read,
                job.options,
                job.model,
                job.workers,
                job.batch_size,
                job.site_field,
                site_table,
            )
            cleaned.write_datasink(sink, ray_remote_args={"num_cpus": 0}, concurrency=writers(job.workers))
            seconds = time.perf_counter() - start
    finally:
        if started_ray:
            ray.shutdown()
    return JobSummary(
        cleaned=sink.cleaned,
        failed=len(sink.errors),
        seconds=seconds,
        workers=job.workers,
        engine="ray",
        errors_file=out.job_dir / ERRORS_FILE,
        total_cleaned=sink.cleaned,
        total_failed=len(sink.errors),
    )


def writers(actors: int) -> int:
    """Write tasks to run at once: one per 16 actors.

    Write tasks take no CPU slot, so without a bound Ray starts one per block, each a process that
    imports this package; on this project's 2-core machine they took the actors' CPU and a Ray job
    ran at a fifth of the local engine's rate. Writing records takes about 2% of the time cleaning
    them does (1.1 s against 53 s for 2,886 pages here), so one writer keeps up with many actors.
    """
    return max(1, -(-actors // 16))


def count_sites_on_ray(
    source: InputSource, read: ReadSettings, site_field: str, model: Path, output: OutputFolder
) -> SiteTable:
    """First pass: the site counts of the whole input, saved to the output's `sites.npz` too.

    Each block's counts (`_count_block`) are summed by a group-by on (kind, hash), spread over
    the cluster; only sites and lines seen on two pages or more reach the driver.
    """
    start = time.perf_counter()
    count_block = functools.partial(
        _count_block,
        fmt=source.format,
        read=read,
        site_field=site_field,
        max_chars=segment_max_chars(model),
    )
    counts = _read(source, read).map_batches(count_block, batch_size=None, batch_format="pyarrow", num_cpus=1)
    summed = counts.groupby([KIND_COLUMN, KEY_COLUMN]).sum(COUNT_COLUMN)
    table = _site_table(summed.iter_batches(batch_format="pyarrow"))
    save_site_table(table, output.site_table_path)
    print(describe_site_table(table, output.site_table_path, time.perf_counter() - start), file=sys.stderr)
    return table


def _count_block(batch: pa.Table, fmt: str, read: ReadSettings, site_field: str, max_chars: int) -> pa.Table:
    """A block's site counts as rows: (site, its pages) and (line, pages holding it)."""
    pages = (
        (document_site(doc, site_field, fmt), doc.text)
        for doc in _documents(batch, fmt, read)
        if doc.problem is None
    )
    counts = count_sites(pages, max_chars)
    kinds = np.concatenate(
        [np.full(counts.sites.size, _SITE, np.int8), np.full(counts.lines.size, _LINE, np.int8)]
    )
    return pa.table(
        {
            KIND_COLUMN: kinds,
            KEY_COLUMN: np.concatenate([counts.sites, counts.lines]),
            COUNT_COLUMN: np.concatenate([counts.pages, counts.counts]),
        }
    )


def _site_table(batches: Iterable[pa.Table]) -> SiteTable:
    """The `SiteTable` of summed (kind, key, count) rows in any order, lines seen on one page dropped."""
    kept: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {_SITE: [], _LINE: []}
    for rows in batches:
        kinds = rows.column(KIND_COLUMN).to_numpy()
        keys = rows.column(KEY_COLUMN).to_numpy()
        counts = rows.column(SUMMED_COLUMN).to_numpy()
        for kind, least in ((_SITE, 1), (_LINE, 2)):
            keep = (kinds == kind) & (counts >= least)
            kept[kind].append((keys[keep], counts[keep]))
    arrays: list[np.ndarray] = []
    for kind in (_SITE, _LINE):
        keys = np.concatenate([np.zeros(0, np.uint64), *(found for found, _ in kept[kind])])
        counts = np.concatenate([np.zeros(0, np.int64), *(summed for _, summed in kept[kind])])
        order = np.argsort(keys)
        arrays += [keys[order].astype(np.uint64), counts[order].astype(np.int64)]
    return SiteTable(*arrays)


def clean_on_ray(
    source: InputSource,
    read: ReadSettings,
    options: CleanOptions,
    model: Path,
    actors: int,
    batch_size: int,
    site_field: str | None = None,
    site_table: ray.ObjectRef | None = None,
) -> ray.data.Dataset:
    """A lazy Ray dataset of `source` cleaned by `actors` actors, in `CleanedPartsDatasink`'s layout.

    Each actor takes one CPU; reading and writing are I/O and take none, so `actors` equal to the
    cluster's CPUs uses them all without starving the read and write tasks. With `site_field`,
    `site_table` is the object store's copy of the first pass's table.
    """
    return _read(source, read).map_batches(
        RayCleaner,
        fn_constructor_kwargs={
            "model_path": str(model.resolve()),
            "fmt": source.format,
            "read": read,
            "options": options,
            "site_field": site_field,
            "site_table": site_table,
        },
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=1,
    )


def _read(source: InputSource, read: ReadSettings) -> ray.data.Dataset:
    """A lazy Ray dataset of `source`'s raw records with their positions (`_documents` parses them)."""
    root = InputSource(source.root.resolve(), source.format)
    paths = [str(path) for path in root.files()]
    datasource: FileBasedDatasource
    if source.format == "parquet":
        datasource = _ParquetRows(paths, root)
    else:
        datasource = _JsonlLines(paths, root, line_limit(read))
    return ray.data.read_datasource(datasource, num_cpus=0)


class RayCleaner:
    """`map_batches` callable: the model is loaded once per actor, then each batch is cleaned.

    Takes blocks from `_JsonlLines` (position + raw line) or `_ParquetRows` (position + row) and
    returns, per document, its id, its error (null when cleaned) and its output record: a JSONL
    line, or the output columns for Parquet (null when it failed).
    """

    def __init__(
        self,
        model_path: str,
        fmt: str,
        read: ReadSettings,
        options: CleanOptions,
        site_field: str | None = None,
        site_table: ray.ObjectRef | None = None,
    ) -> None:
        self.model = load_ready_model(model_path)
        threadpool_limits(limits=1)  # one CPU per actor: OpenMP and BLAS threads would only compete
        self.format = fmt
        self.read = read
        self.options = options
        self.site_field = site_field
        # Read from the object store: the arrays are shared by the actors of a node, not copied.
        self.site_table: SiteTable | None = None if site_table is None else ray.get(site_table)

    def __call__(self, batch: pa.Table) -> pa.Table:
        documents = _documents(batch, self.format, self.read)
        sites = (
            None
            if self.site_field is None
            else [document_site(doc, self.site_field, self.format) for doc in documents]
        )
        outcomes = clean_batch(self.model, documents, self.options, 0.0, sites, self.site_table)
        ids: list[str] = []
        errors: list[str | None] = []
        records: list[dict[str, Any] | None] = []
        for doc, outcome in zip(documents, outcomes, strict=True):
            ids.append(doc.id)
            if isinstance(outcome, CleanFailure):
                errors.append(outcome.reason)
                records.append(None)
            else:
                errors.append(None)
                records.append(output_record(doc, outcome, self.read.text_field))
        if self.format == "parquet":
            return _parquet_batch(ids, errors, records, batch.schema, self.options)
        lines = [None if record is None else jsonl_line(record) for record in records]
        return pa.table({ID_COLUMN: ids, ERROR_COLUMN: pa.array(errors, pa.string()), LINE_COLUMN: lines})


def _documents(batch: pa.Table, fmt: str, read: ReadSettings) -> list[SourceDocument]:
    """The documents of a block read by `_JsonlLines` or `_ParquetRows`, parsed as the local reader does."""
    wheres = batch.column(WHERE_COLUMN).to_pylist()
    if fmt == "parquet":
        rows = batch.drop_columns([WHERE_COLUMN]).to_pylist()
        return [parse_record(row, where, read) for row, where in zip(rows, wheres, strict=True)]
    limit = line_limit(read)
    lines = batch.column(LINE_COLUMN).to_pylist()
    return [
        overlong_line(where, limit) if raw is None else parse_jsonl_line(raw, where, read)
        for raw, where in zip(lines, wheres, strict=True)
    ]


def _parquet_batch(
    ids: list[str],
    errors: list[str | None],
    records: list[dict[str, Any] | None],
    input_schema: pa.Schema,
    options: CleanOptions,
) -> pa.Table:
    """Output columns (nullable, null for failed rows) plus id and error columns."""
    schema = output_schema(input_schema.remove(input_schema.get_field_index(WHERE_COLUMN)), options)
    nullable = pa.schema([field.with_nullable(True) for field in schema])
    table = pa.Table.from_pylist([record or {} for record in records], schema=nullable)
    return table.append_column(ID_COLUMN, pa.array(ids, pa.string())).append_column(
        ERROR_COLUMN, pa.array(errors, pa.string())
    )


class CleanedPartsDatasink(Datasink[dict[str, Any]]):
    """Writes each write task's cleaned records as one part file; failed documents go to the errors file."""

    def __init__(self, output: OutputFolder, text_field: str, options: CleanOptions, schema: Any) -> None:
        self.output = output
        self.text_field = text_field
        self.options = options
        self.schema = schema
        self.cleaned = 0
        self.errors: list[dict[str, str]] = []

    def write(self, blocks: Any, ctx: Any) -> dict[str, Any]:
        name = f"part-{ctx.task_idx:05d}-{uuid.uuid4().hex[:8]}{OUTPUT_SUFFIXES[self.output.format]}"
        writer: JsonlShardWriter | ParquetShardWriter | None = None
        cleaned, errors = 0, []
        for block in blocks:
            table = _as_table(block)
            failed = table.filter(pc.is_valid(table.column(ERROR_COLUMN)))
            errors += [
                {"id": doc_id, "reason": reason}
                for doc_id, reason in zip(
                    failed.column(ID_COLUMN).to_pylist(), failed.column(ERROR_COLUMN).to_pylist(), strict=True
                )
            ]
            good = table.filter(pc.is_null(table.column(ERROR_COLUMN)))
            if good.num_rows == 0:
                continue
            if writer is None:
                writer = self._open(self.output.root / name)
            cleaned += good.num_rows
            if isinstance(writer, ParquetShardWriter):
                writer.write_table(good.drop_columns([ID_COLUMN, ERROR_COLUMN]))
            else:
                for line in good.column(LINE_COLUMN).to_pylist():
                    writer.write_line(line)
        if writer is not None:
            writer.commit()
        return {"cleaned": cleaned, "errors": errors}

    def on_write_complete(self, write_result: Any) -> None:
        for result in write_result.write_returns:
            self.cleaned += result["cleaned"]
            self.errors += result["errors"]
        lines = "".join(json.dumps(error, ensure_ascii=False) + "\n" for error in self.errors)
        (self.output.job_dir / ERRORS_FILE).write_text(lines, encoding="utf-8")

    def _open(self, path: Path) -> JsonlShardWriter | ParquetShardWriter:
        if self.output.format == "parquet":
            return ParquetShardWriter(path, self.text_field, output_schema(self.schema, self.options))
        return JsonlShardWriter(path, self.text_field)


class _JsonlLines(FileBasedDatasource):
    """Raw JSONL lines with their `file:line` position; parsing happens in the actors, in parallel."""

    def __init__(self, paths: list[str], root: InputSource, limit: int) -> None:
        super().__init__(paths)
        self._root = root
        self._limit = limit

    def _read_stream(self, f: Any, path: str) -> Iterator[Block]:
        name = _name(self._root, path)
        wheres: list[str] = []
        lines: list[bytes | None] = []
        for number, raw in jsonl_lines(io.BufferedReader(f), self._limit):
            wheres.append(f"{name}:{number}")
            lines.append(raw)
            if len(lines) == LINES_PER_BLOCK:
                yield pa.table({WHERE_COLUMN: wheres, LINE_COLUMN: pa.array(lines, pa.binary())})
                wheres, lines = [], []
        if lines:
            yield pa.table({WHERE_COLUMN: wheres, LINE_COLUMN: pa.array(lines, pa.binary())})


class _ParquetRows(FileBasedDatasource):
    """Parquet rows by record batch, with their `file:row` position (1-based, as the local reader)."""

    def __init__(self, paths: list[str], root: InputSource) -> None:
        super().__init__(paths)
        self._root = root

    def _open_input_source(self, filesystem: Any, path: str, **open_args: Any) -> Any:
        # The footer is at the end of the file: Parquet needs a seekable file, not a stream.
        return filesystem.open_input_file(path)

    def _read_stream(self, f: Any, path: str) -> Iterator[Block]:
        name = _name(self._root, path)
        first = 1
        for batch in pq.ParquetFile(f).iter_batches(batch_size=LINES_PER_BLOCK):
            table = pa.Table.from_batches([batch])
            wheres = [f"{name}:{number}" for number in range(first, first + table.num_rows)]
            first += table.num_rows
            yield table.append_column(WHERE_COLUMN, pa.array(wheres, pa.string()))


def _name(root: InputSource, path: str) -> str:
    """The file's name as the local reader shows it (relative to the input folder)."""
    return root.name(Path(path))


def _as_table(block: Any) -> pa.Table:
    return block if isinstance(block, pa.Table) else pa.Table.from_pandas(block)

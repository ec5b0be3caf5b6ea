"""Clean a corpus on one machine: shards go to worker processes, each with its own model.

Why a process pool over a plain stream and not `datasets.Dataset.map(num_proc=...)`: `map` needs
the whole corpus converted to an Arrow cache first (a full copy on disk before the first document
is cleaned), its workers are a new pool per call, and its cache resumes a whole `map`, not the
shards a killed job already finished. Here the parent streams the input (`jobs.readers`), cuts it
into shards (`jobs.shards`), keeps at most two shards per worker in flight (memory stays bounded
whatever the corpus size; `storysplit.worker_pool`, the pool `storysplit segment --workers` uses
too), and each worker cleans, writes and marks whole shards.

With `--site-field`, the same workers first count each shard's lines per site (`jobs.sites`);
the parent adds the shards' counts up, spilling to `.storysplit/site-counts/`, and saves the table
of the whole input as `.storysplit/sites.npz`, which each worker loads before its first shard to
clean. Counting in the workers keeps the first pass about as parallel as the second.

Workers are started with `spawn` and load the model themselves: a torch model used in the parent
and then forked can deadlock. Each worker runs torch, OpenMP and BLAS on one
thread, since the pool is the parallelism: OpenMP threads competing with other processes for the
cores slowed the model about twentyfold (the server's load test in docs/reliability.md). On Linux
a worker dies with the parent, even when the parent is killed with SIGKILL.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from threadpoolctl import threadpool_limits

from storysplit.features.site_evidence import SiteCounts, SiteLineCounter, SiteTable
from storysplit.jobs.cleaning import CleanFailure, CleanOptions, clean_batch, load_ready_model
from storysplit.jobs.errors import JobError
from storysplit.jobs.job import CleanJob, JobSummary, check_output_is_outside_input, job_plan
from storysplit.jobs.readers import InputSource, open_input, parquet_schema, read_documents
from storysplit.jobs.shards import OutputFolder, Shard, ShardResult, plan_shards
from storysplit.jobs.sites import (
    check_site_field,
    count_sites,
    describe_site_table,
    document_site,
    save_site_table,
)
from storysplit.jobs.writers import open_shard_writer
from storysplit.model import StorySplitModel
from storysplit.records import SourceDocument
from storysplit.worker_pool import WorkerPool

_PR_SET_PDEATHSIG = 1
Outcome = TypeVar("Outcome")
ShardTask = Callable[["ShardCleaner", Shard, Callable[[int], None]], Outcome]
"""What a worker does with a shard: `ShardCleaner.count` (first pass) or `ShardCleaner.run`."""


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs to clean and write a shard (sent to each worker once).

    Attributes:
        model_path: Model folder, loaded once per worker.
        output_root: The job's output folder.
        format: Input and output format ("jsonl", "jsonl.gz", "parquet", "txt").
        text_field: Field that holds the text, replaced by the cleaned text in the output.
        options: What to compute per document.
        batch_size: Documents per model call.
        seconds_per_document: Time limit per document (0: none); see `jobs.cleaning.clean_documents`.
        parquet_schema: The input's Arrow schema, for Parquet output.
        site_field: The field naming each document's site (`jobs.sites.document_site`); None:
            every document on its own.
        site_table: The first pass's `sites.npz`, loaded before the first shard is cleaned.
    """

    model_path: Path
    output_root: Path
    format: str
    text_field: str
    options: CleanOptions
    batch_size: int
    seconds_per_document: float
    parquet_schema: Any = None
    site_field: str | None = None
    site_table: Path | None = None


class ShardCleaner:
    """Counts, or cleans, writes and marks, whole shards with one loaded model."""

    def __init__(self, settings: WorkerSettings, model: StorySplitModel) -> None:
        self.settings = settings
        self.model = model
        self.output = OutputFolder(settings.output_root, settings.format)
        self._site_table: SiteTable | None = None

    def count(self, shard: Shard, report: Callable[[int], None]) -> SiteCounts:
        """First pass: the site counts of `shard`'s readable documents; `report(n)` when done."""
        field = self.settings.site_field
        assert field is not None, "counting needs a site field"
        pages = (
            (document_site(doc, field, self.settings.format), doc.text)
            for doc in shard.documents
            if doc.problem is None
        )
        counts = count_sites(pages, self.model.max_chars)
        report(len(shard.documents))
        return counts

    def run(self, shard: Shard, report: Callable[[int], None]) -> ShardResult:
        """Clean `shard`, publish its file, then its marker; `report(n)` after every n documents."""
        settings = self.settings
        start = time.perf_counter()
        writer = open_shard_writer(
            settings.format,
            self.output.shard_path(shard.index),
            settings.text_field,
            settings.options,
            settings.parquet_schema,
        )
        errors: list[dict[str, str]] = []
        cleaned = 0
        for first in range(0, len(shard.documents), settings.batch_size):
            batch = shard.documents[first : first + settings.batch_size]
            outcomes = clean_batch(
                self.model, batch, settings.options, settings.seconds_per_document, *self._sites(batch)
            )
            for doc, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, CleanFailure):
                    errors.append({"id": doc.id, "reason": outcome.reason})
                else:
                    writer.add(doc, outcome)
                    cleaned += 1
            report(len(batch))
        writer.commit()
        result = ShardResult(shard.index, len(shard.documents), cleaned, time.perf_counter() - start, errors)
        self.output.mark_done(result)
        return result

    def _sites(self, batch: list[SourceDocument]) -> tuple[list[str | None] | None, SiteTable | None]:
        """The batch's sites and the site table (loaded on first use), or (None, None) without sites."""
        settings = self.settings
        if settings.site_field is None or settings.site_table is None:
            return None, None
        if self._site_table is None:
            self._site_table = SiteTable.load(settings.site_table)
        field = settings.site_field
        return [document_site(doc, field, settings.format) for doc in batch], self._site_table


class ShardPool:
    """`workers` processes (1: this process), each with its own `ShardCleaner`, taking whole shards.

    One pool serves both passes of a job, so each worker loads the model once.
    """

    def __init__(self, settings: WorkerSettings, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        self._cleaner: ShardCleaner | None = None
        self._pool: WorkerPool | None = None
        self._progress: multiprocessing.Queue[int] | None = None
        if workers > 1:
            self._progress = multiprocessing.get_context("spawn").Queue()
            self._pool = WorkerPool(
                workers,
                start_method="spawn",
                initializer=_start_worker,
                initargs=(settings, self._progress, os.getpid()),
                died=JobError(
                    "a worker process died (out of memory?); finished shards are kept, rerun with --resume "
                    "(fewer --workers or a smaller --batch-size use less memory)"
                ),
            )

    def __enter__(self) -> ShardPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        # On an error or Ctrl-C, shards already running finish and are kept; queued ones are dropped.
        if self._pool is not None:
            self._pool.__exit__(kind, error, trace)

    def map(
        self,
        task: ShardTask[Outcome],
        shards: Iterable[Shard],
        report: Callable[[int], None],
        collect: Callable[[Outcome], None],
    ) -> None:
        """`collect(task(cleaner, shard, report))` for every shard, in the order shards finish.

        Raises:
            JobError: a worker process died (killed for memory, or crashed).
        """
        if self._pool is None:
            if self._cleaner is None:
                self._cleaner = ShardCleaner(self.settings, load_ready_model(self.settings.model_path))
            with threadpool_limits(limits=1):
                for shard in shards:
                    collect(task(self._cleaner, shard, report))
            return
        progress = self._progress
        assert progress is not None
        tasks = ((task, shard) for shard in shards)
        for outcome in self._pool.as_finished(_run_task, tasks, lambda: _drain(progress, report)):
            collect(outcome)


def _drain(progress: multiprocessing.Queue[int], report: Callable[[int], None]) -> None:
    while True:
        try:
            report(progress.get_nowait())
        except queue.Empty:
            return


# Worker process state: one cleaner per process, built by the pool initializer.
_cleaner: ShardCleaner | None = None
_start_error: Exception | None = None
_progress: multiprocessing.Queue[int] | None = None


def _start_worker(settings: WorkerSettings, progress: multiprocessing.Queue[int], parent: int) -> None:
    global _cleaner, _start_error, _progress
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _progress = progress
    try:
        _cleaner = ShardCleaner(settings, load_ready_model(settings.model_path))
    except Exception as error:  # reported by the first shard, where the parent sees it
        _start_error = error
    # Only a transformer encoder imports torch (seconds and ~300 MB); the default model never does.
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    threadpool_limits(limits=1)  # after loading, so the OpenMP and BLAS libraries it loaded are limited


def _run_task(task_and_shard: tuple[ShardTask[Outcome], Shard]) -> Outcome:
    task, shard = task_and_shard
    if _cleaner is None:
        raise _start_error or RuntimeError("worker was not initialised")
    progress = _progress
    assert progress is not None
    return task(_cleaner, shard, progress.put)


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the job's main process dies (Linux; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the call above took effect
        os._exit(1)


def run_local_job(job: CleanJob) -> JobSummary:
    """Clean `job.input` into `job.output` with a pool of `job.workers` processes.

    With `job.site_field`, the input's lines are counted per site first (`count_site_lines`),
    unless an earlier run of the job already saved the counts.
    """
    source = open_input(job.input)
    check_output_is_outside_input(job.input, job.output)
    check_site_field(job.site_field, source.format)
    schema = parquet_schema(source, job.read) if source.format == "parquet" else None
    plan = job_plan(job, source, engine="local")
    from tqdm import tqdm

    with OutputFolder.claim(job.output, source.format, plan, job.resume) as output:
        settings = WorkerSettings(
            model_path=job.model,
            output_root=job.output,
            format=source.format,
            text_field=job.read.text_field,
            options=job.options,
            batch_size=job.batch_size,
            seconds_per_document=job.seconds_per_document,
            parquet_schema=schema,
            site_field=job.site_field,
            site_table=output.site_table_path if job.site_field else None,
        )
        skipped = 0
        results: list[ShardResult] = []
        start = time.perf_counter()
        with ShardPool(settings, job.workers) as pool:
            if job.site_field:
                count_site_lines(job, source, output, pool)
            bar = tqdm(
                desc="cleaning", unit="doc", file=sys.stderr, disable=_progress_off(job), mininterval=1.0
            )

            def shards_to_do() -> Iterator[Shard]:
                nonlocal skipped
                for shard in plan_shards(read_documents(source, job.read), job.shard_size):
                    if output.is_done(shard.index):
                        skipped += len(shard.documents)
                        bar.set_postfix_str(f"{skipped:,} done earlier", refresh=False)
                        continue
                    yield shard

            try:
                pool.map(ShardCleaner.run, shards_to_do(), bar.update, results.append)
            finally:
                bar.close()
                everything = output.results()
                errors_file = output.merge_errors(everything)
        seconds = time.perf_counter() - start
    return JobSummary(
        cleaned=sum(r.cleaned for r in results),
        failed=sum(r.failed for r in results),
        seconds=seconds,
        workers=job.workers,
        engine="local",
        errors_file=errors_file,
        earlier_documents=skipped,
        total_cleaned=sum(r.cleaned for r in everything),
        total_failed=sum(r.failed for r in everything),
    )


def count_site_lines(job: CleanJob, source: InputSource, output: OutputFolder, pool: ShardPool) -> None:
    """First pass: count every document's lines per site into the output's `sites.npz`.

    Skipped when an earlier run saved it (`--resume`): the file is written whole, from the whole
    input, and the job's plan fixes the input, the site field and the model. The workers count
    shards; this process adds their counts up in bounded memory, spilling to `site-counts/`.
    """
    path = output.site_table_path
    if path.exists():
        print(f"storysplit clean: using the site counts of an earlier run ({path})", file=sys.stderr)
        return
    from tqdm import tqdm

    shutil.rmtree(output.site_counts_dir, ignore_errors=True)  # a killed first pass's chunks
    counter = SiteLineCounter(spill_dir=output.site_counts_dir)
    bar = tqdm(
        desc="counting lines per site",
        unit="doc",
        file=sys.stderr,
        disable=_progress_off(job),
        mininterval=1.0,
    )
    start = time.perf_counter()
    try:
        shards = plan_shards(read_documents(source, job.read), job.shard_size)
        pool.map(ShardCleaner.count, shards, bar.update, counter.add_counts)
    finally:
        bar.close()
    table = counter.table()
    save_site_table(table, path)
    shutil.rmtree(output.site_counts_dir, ignore_errors=True)
    print(describe_site_table(table, path, time.perf_counter() - start), file=sys.stderr)


def _progress_off(job: CleanJob) -> bool | None:
    """tqdm's `disable`: None hides the bar when stderr is not a terminal."""
    return None if job.progress is None else not job.progress

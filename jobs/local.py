"""Clean a corpus on one machine: shards go to worker processes, each with its own model.

Why a process pool over a plain stream and not `datasets.Dataset.map(num_proc=...)`: `map` needs
the whole corpus converted to an Arrow cache first (a full copy on disk before the first document
is cleaned), its workers are a new pool per call, and its cache resumes a whole `map`, not the
shards a killed job already finished. Here the parent streams the input (`jobs.readers`), cuts it
into shards (`jobs.shards`), keeps at most two shards per worker in flight (memory stays bounded
whatever the corpus size), and each worker cleans, writes and marks whole shards.

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
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from storysplit.jobs.cleaning import CleanFailure, CleanOptions, clean_batch, load_ready_model
from storysplit.jobs.errors import JobError
from storysplit.jobs.job import CleanJob, JobSummary, check_output_is_outside_input, job_plan
from storysplit.jobs.readers import open_input, parquet_schema, read_documents
from storysplit.jobs.shards import OutputFolder, Shard, ShardResult, plan_shards
from storysplit.jobs.writers import open_shard_writer
from storysplit.model import StorySplitModel

SHARDS_IN_FLIGHT_PER_WORKER = 2
_PR_SET_PDEATHSIG = 1


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
    """

    model_path: Path
    output_root: Path
    format: str
    text_field: str
    options: CleanOptions
    batch_size: int
    seconds_per_document: float
    parquet_schema: Any = None


class ShardCleaner:
    """Cleans, writes and marks whole shards with one loaded model."""

    def __init__(self, settings: WorkerSettings, model: StorySplitModel) -> None:
        self.settings = settings
        self.model = model
        self.output = OutputFolder(settings.output_root, settings.format)

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
            outcomes = clean_batch(self.model, batch, settings.options, settings.seconds_per_document)
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


def clean_shards(
    shards: Iterable[Shard], settings: WorkerSettings, workers: int, report: Callable[[int], None]
) -> list[ShardResult]:
    """Clean every shard of `shards` with `workers` processes (1: in this process); results in finish order.

    Raises:
        JobError: a worker process died (killed for memory, or crashed).
    """
    if workers == 1:
        cleaner = ShardCleaner(settings, load_ready_model(settings.model_path))
        with threadpool_limits(limits=1):
            return [cleaner.run(shard, report) for shard in shards]
    context = multiprocessing.get_context("spawn")
    progress: multiprocessing.Queue[int] = context.Queue()
    results: list[ShardResult] = []
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(settings, progress, os.getpid())
    )
    try:
        pending: set[Future[ShardResult]] = set()
        for shard in shards:
            while len(pending) >= SHARDS_IN_FLIGHT_PER_WORKER * workers:
                pending = _collect(pending, progress, report, results)
            pending.add(pool.submit(_clean_shard, shard))
        while pending:
            pending = _collect(pending, progress, report, results)
    except BrokenProcessPool:
        raise JobError(
            "a worker process died (out of memory?); finished shards are kept, rerun with --resume "
            "(fewer --workers or a smaller --batch-size use less memory)"
        ) from None
    finally:
        # On an error or Ctrl-C, shards already running finish and are kept; queued ones are dropped.
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def _collect(
    pending: set[Future[ShardResult]],
    progress: multiprocessing.Queue[int],
    report: Callable[[int], None],
    results: list[ShardResult],
) -> set[Future[ShardResult]]:
    done, still_pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
    _drain(progress, report)
    for future in done:
        results.append(future.result())
    _drain(progress, report)
    return still_pending


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


def _clean_shard(shard: Shard) -> ShardResult:
    if _cleaner is None:
        raise _start_error or RuntimeError("worker was not initialised")
    progress = _progress
    assert progress is not None
    return _cleaner.run(shard, progress.put)


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the job's main process dies (Linux; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the call above took effect
        os._exit(1)


def run_local_job(job: CleanJob) -> JobSummary:
    """Clean `job.input` into `job.output` with a pool of `job.workers` processes."""
    source = open_input(job.input)
    check_output_is_outside_input(job.input, job.output)
    schema = parquet_schema(source, job.read) if source.format == "parquet" else None
    plan = job_plan(job, source, engine="local")
    settings = WorkerSettings(
        model_path=job.model,
        output_root=job.output,
        format=source.format,
        text_field=job.read.text_field,
        options=job.options,
        batch_size=job.batch_size,
        seconds_per_document=job.seconds_per_document,
        parquet_schema=schema,
    )
    from tqdm import tqdm

    with OutputFolder.claim(job.output, source.format, plan, job.resume) as output:
        bar = tqdm(desc="cleaning", unit="doc", file=sys.stderr, disable=_progress_off(job), mininterval=1.0)
        skipped = 0

        def shards_to_do() -> Iterator[Shard]:
            nonlocal skipped
            for shard in plan_shards(read_documents(source, job.read), job.shard_size):
                if output.is_done(shard.index):
                    skipped += len(shard.documents)
                    bar.set_postfix_str(f"{skipped:,} done earlier", refresh=False)
                    continue
                yield shard

        start = time.perf_counter()
        try:
            results = clean_shards(shards_to_do(), settings, job.workers, bar.update)
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


def _progress_off(job: CleanJob) -> bool | None:
    """tqdm's `disable`: None hides the bar when stderr is not a terminal."""
    return None if job.progress is None else not job.progress

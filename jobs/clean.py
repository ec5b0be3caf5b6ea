"""`storysplit clean INPUT OUTPUT`: clean a whole corpus, streamed, on all cores, resumable.

INPUT is a .jsonl, .jsonl.gz or .parquet file, a folder of such files, or a folder of .txt files.
OUTPUT is a folder that gets the same format with each text replaced by its cleaned text (and,
if asked, the removed text and per-segment labels), in shards of --shard-size documents. A
document that cannot be cleaned (bad encoding, too large, over the time limit) goes to
OUTPUT/.storysplit/errors.jsonl with its id and the reason, and the job goes on. After a crash or a
kill, the same command with --resume finishes the job without redoing finished shards or
writing any document twice. `--engine ray` runs the cleaning on a Ray cluster instead.

Exit status: 0 when every document was processed (failures are in the errors file),
2 when the job could not start or stopped early, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storysplit.artifact import manifest_digest, read_manifest
from storysplit.bundled import DEFAULT_MODEL
from storysplit.jobs.cleaning import CleanOptions
from storysplit.jobs.errors import JobError
from storysplit.jobs.local import WorkerSettings, clean_shards
from storysplit.jobs.readers import InputSource, ReadSettings, open_input, parquet_schema, read_documents
from storysplit.jobs.shards import OutputFolder, Shard, plan_shards
from storysplit.segment_cli import threshold_argument

DEFAULT_SHARD_SIZE = 1000
DEFAULT_BATCH_SIZE = 32
CORPUS_MAX_BYTES = 2_000_000
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class CleanJob:
    """A validated `storysplit clean` command line."""

    input: Path
    output: Path
    model: Path
    engine: str
    read: ReadSettings
    options: CleanOptions
    workers: int
    batch_size: int
    shard_size: int
    seconds_per_document: float
    resume: bool
    progress: bool | None
    ray_address: str | None


@dataclass(frozen=True)
class JobSummary:
    """What a run did (this run only) and where the job stands overall."""

    cleaned: int
    failed: int
    seconds: float
    workers: int
    engine: str
    errors_file: Path
    earlier_documents: int = 0
    total_cleaned: int = 0
    total_failed: int = 0

    @property
    def documents_per_second(self) -> float:
        return (self.cleaned + self.failed) / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        """The one-line report printed at the end of a job."""
        line = (
            f"storysplit clean: {self.cleaned:,} documents cleaned, {self.failed:,} failed in "
            f"{self.seconds:.1f} s ({self.documents_per_second:.1f} docs/s, {self.workers} "
            f"{'actor' if self.engine == 'ray' else 'worker'}{'s' if self.workers > 1 else ''})"
        )
        if self.earlier_documents:
            line += (
                f"; {self.earlier_documents:,} documents were done by earlier runs; job total "
                f"{self.total_cleaned:,} cleaned, {self.total_failed:,} failed"
            )
        if self.total_failed or self.failed:
            line += f"; failures are listed in {self.errors_file}"
        return line


def main(argv: list[str] | None = None) -> int:
    job = _job_from_args(_parser().parse_args(argv))
    if job.engine == "ray":
        from storysplit.jobs.ray_clean import run_ray_job

        summary = run_ray_job(job)
    else:
        summary = run_local_job(job)
    print(summary.describe(), file=sys.stderr)
    return 0


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


def job_plan(job: CleanJob, source: InputSource, engine: str) -> dict[str, Any]:
    """The settings that decide a job's output; `--resume` refuses to continue under others."""
    return {
        "engine": engine,
        "input": str(job.input.resolve()),
        "input_files": source.fingerprint(),
        "format": source.format,
        "shard_size": job.shard_size,
        "text_field": job.read.text_field,
        "id_field": job.read.id_field,
        "max_bytes": job.read.max_bytes,
        "threshold": job.options.threshold,
        "keep_removed": job.options.keep_removed,
        "keep_segments": job.options.keep_segments,
        "model_manifest_sha256": model_digest(job.model),
    }


def model_digest(model: Path) -> str:
    """SHA-256 of a model folder's manifest (which holds the checksum of every other file).

    Raises:
        ModelLoadError: not a complete, untampered model folder (checked before any worker starts).
    """
    read_manifest(model)
    return manifest_digest(model)


def check_output_is_outside_input(input_path: Path, output: Path) -> None:
    """Refuse an output folder inside the input folder: a resumed run would read its own output."""
    if input_path.is_dir() and output.resolve().is_relative_to(input_path.resolve()):
        raise JobError(f"output {output} is inside the input folder {input_path}; write it elsewhere")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storysplit clean", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "input", type=Path, help=".jsonl / .jsonl.gz / .parquet file, or a folder of them or of .txt"
    )
    parser.add_argument(
        "output", type=Path, help="output folder (empty, or from an earlier run with --resume)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=Path(os.environ.get("STORYSPLIT_MODEL", DEFAULT_MODEL)),
        help="model folder (default: $STORYSPLIT_MODEL, else the shipped default model)",
    )
    parser.add_argument(
        "--engine", choices=("local", "ray"), default="local", help="where to run (default: local)"
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=_cores(),
        help=f"processes, or Ray actors (default: {_cores()}, the cores)",
    )
    parser.add_argument(
        "--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE, help="documents per model call"
    )
    parser.add_argument(
        "--shard-size",
        type=_positive,
        default=DEFAULT_SHARD_SIZE,
        help="documents per output file (local engine)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the job that wrote OUTPUT (local engine)"
    )
    parser.add_argument(
        "--text-field", default="text", help="field or column holding the text (default: text)"
    )
    parser.add_argument("--id-field", default="id", help="field or column holding the id (default: id)")
    parser.add_argument(
        "--threshold", type=threshold_argument, help="keep segments with p(main) >= this (default: model's)"
    )
    parser.add_argument(
        "--keep-removed", action="store_true", help="also write the removed text (removed_text)"
    )
    parser.add_argument(
        "--segments",
        action="store_true",
        help="also write each segment's offsets, label and probability (segments)",
    )
    parser.add_argument(
        "--max-bytes",
        type=_positive,
        default=CORPUS_MAX_BYTES,
        help=f"larger documents fail as too large (default {CORPUS_MAX_BYTES:,}; news pages are far smaller)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds one document may take (default {DEFAULT_TIMEOUT:g}, 0: no limit; local engine)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="progress bar on stderr (default: when a terminal)",
    )
    parser.add_argument("--ray-address", help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)")
    return parser


def _job_from_args(args: argparse.Namespace) -> CleanJob:
    if args.engine == "local" and args.ray_address:
        raise JobError("--ray-address needs --engine ray")
    options = CleanOptions(args.threshold, args.keep_removed, args.segments)
    return CleanJob(
        input=args.input,
        output=args.output,
        model=args.model,
        engine=args.engine,
        read=ReadSettings(args.text_field, args.id_field, args.max_bytes, options.extra_fields()),
        options=options,
        workers=args.workers,
        batch_size=args.batch_size,
        shard_size=args.shard_size,
        seconds_per_document=max(args.timeout, 0.0),
        resume=args.resume,
        progress=args.progress,
        ray_address=args.ray_address,
    )


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _progress_off(job: CleanJob) -> bool | None:
    """tqdm's `disable`: None hides the bar when stderr is not a terminal."""
    return None if job.progress is None else not job.progress

"""A `storysplit clean` job as both engines run it: its settings, its plan and what a run did.

The local engine (`jobs.local`) and the Ray engine (`jobs.ray_clean`) both take a `CleanJob` and
return a `JobSummary`; the command line (`jobs.clean`) builds the one and prints the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storysplit.artifact import manifest_digest, read_manifest
from storysplit.jobs.cleaning import CleanOptions
from storysplit.jobs.errors import JobError
from storysplit.jobs.readers import InputSource
from storysplit.records import ReadSettings


@dataclass(frozen=True)
class CleanJob:
    """A validated `storysplit clean` command line.

    `site_field` names the record field holding each document's URL or domain (`jobs.sites`);
    None cleans every document on its own.
    """

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
    site_field: str | None = None


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
        "site_field": job.site_field,
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

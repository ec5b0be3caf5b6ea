"""The shard plan and the output folder's state: what makes a job resumable without duplicates.

The input is cut, in input order, into shards of `shard_size` documents; shard k always holds the
same documents for the same input and size. A shard's cleaned documents go to one file (renamed
into place when complete, `jobs.writers`), then a marker `.storysplit/shard-NNNNN.json` with its
counts and failed documents is renamed into place. `--resume` skips every shard that has a marker
and redoes the others from scratch, so each document is written exactly once.
`.storysplit/plan.json` records the settings that decide the output; resuming with other settings
is refused. The folder is locked while a job writes to it.

Layout::

    OUTPUT/shard-00000.jsonl.gz            cleaned documents, same format as the input
    OUTPUT/.storysplit/plan.json           input, format, shard size and cleaning settings
    OUTPUT/.storysplit/shard-00000.json    written last: documents, cleaned, failed, seconds, errors
    OUTPUT/.storysplit/errors.jsonl        {"id", "reason"} of every failed document, merged each run
    OUTPUT/.storysplit/sites.npz           with --site-field: the first pass's site counts, whole
    OUTPUT/.storysplit/site-counts/        the first pass's spilled counts while it runs

The state folder is hidden because Ray, Spark and Hugging Face `datasets` all skip hidden entries
when they read a folder, so `OUTPUT` reads back as a dataset of the cleaned documents alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from storysplit.atomic_files import TEMPORARY_GLOB, remove_temporary, write_text_atomically
from storysplit.jobs.errors import JobError
from storysplit.jobs.writers import OUTPUT_SUFFIXES
from storysplit.records import SourceDocument

JOB_DIR = ".storysplit"
PLAN_FILE = "plan.json"
ERRORS_FILE = "errors.jsonl"
SITES_FILE = "sites.npz"
SITE_COUNTS_DIR = "site-counts"
LOCK_FILE = "lock"


@dataclass(frozen=True)
class Shard:
    """Documents `index × size` to `(index + 1) × size - 1` of the input, in input order."""

    index: int
    documents: list[SourceDocument]


@dataclass(frozen=True)
class ShardResult:
    """What finishing a shard produced; its marker file holds exactly this."""

    shard: int
    documents: int
    cleaned: int
    seconds: float
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)


def plan_shards(documents: Iterable[SourceDocument], size: int) -> Iterator[Shard]:
    """Cut the document stream into consecutive shards of `size` (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"shard size must be at least 1, got {size}")
    iterator = iter(documents)
    for index in itertools.count():
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield Shard(index, chunk)


class OutputFolder:
    """A job's output folder: shard and marker paths, and what earlier runs finished.

    Use `OutputFolder.claim` to get one; it checks the folder and holds its lock.
    """

    def __init__(self, root: Path, fmt: str) -> None:
        self.root = root
        self.format = fmt
        self.job_dir = root / JOB_DIR

    @classmethod
    @contextlib.contextmanager
    def claim(cls, root: Path, fmt: str, plan: dict[str, Any], resume: bool) -> Iterator[OutputFolder]:
        """Take `root` for a job with `plan`, locked for the duration of the block.

        Raises:
            JobError: `root` holds files and `resume` is off, holds another job's output,
                was written with other settings, or another job is writing to it.
        """
        folder = cls(root, fmt)
        if root.exists() and not root.is_dir():
            raise JobError(f"output {root} is a file; give a folder")
        has_files = root.exists() and any(root.iterdir())
        if has_files and not resume:
            raise JobError(
                f"output folder {root} is not empty; pass --resume to continue the job that wrote it, "
                "or choose an empty folder"
            )
        folder.job_dir.mkdir(parents=True, exist_ok=True)
        with (folder.job_dir / LOCK_FILE).open("w") as lock:
            _lock_or_fail(lock, root)
            if has_files:
                folder._check_plan(plan)
            else:
                write_text_atomically(
                    folder.job_dir / PLAN_FILE, json.dumps(plan, indent=2, sort_keys=True) + "\n"
                )
            folder._remove_temporaries()
            yield folder

    @property
    def site_table_path(self) -> Path:
        """The site counts of the whole input (`--site-field`), written once the first pass ends."""
        return self.job_dir / SITES_FILE

    @property
    def site_counts_dir(self) -> Path:
        """Where the first pass spills counts (`features.site_evidence.SiteLineCounter`)."""
        return self.job_dir / SITE_COUNTS_DIR

    def shard_path(self, index: int) -> Path:
        return self.root / f"shard-{index:05d}{OUTPUT_SUFFIXES[self.format]}"

    def marker_path(self, index: int) -> Path:
        return self.job_dir / f"shard-{index:05d}.json"

    def is_done(self, index: int) -> bool:
        return self.marker_path(index).exists()

    def mark_done(self, result: ShardResult) -> None:
        """Record that shard `result.shard` is complete (call after its data file is in place)."""
        write_text_atomically(
            self.marker_path(result.shard), json.dumps(asdict(result), ensure_ascii=False) + "\n"
        )

    def results(self) -> list[ShardResult]:
        """The markers of all finished shards, in shard order."""
        markers = sorted(self.job_dir.glob("shard-*.json"))
        return [ShardResult(**json.loads(path.read_text(encoding="utf-8"))) for path in markers]

    def merge_errors(self, results: list[ShardResult]) -> Path:
        """Write `.storysplit/errors.jsonl`: every failed document of `results`, in input order."""
        lines = [
            json.dumps(error, ensure_ascii=False) + "\n" for result in results for error in result.errors
        ]
        path = self.job_dir / ERRORS_FILE
        write_text_atomically(path, "".join(lines))
        return path

    def _check_plan(self, plan: dict[str, Any]) -> None:
        path = self.job_dir / PLAN_FILE
        if not path.exists():
            raise JobError(
                f"{self.root} was not written by storysplit clean (no {JOB_DIR}/{PLAN_FILE}); "
                "choose an empty folder"
            )
        previous = json.loads(path.read_text(encoding="utf-8"))
        changed = [key for key in sorted(set(plan) | set(previous)) if plan.get(key) != previous.get(key)]
        if changed:
            key = changed[0]
            raise JobError(
                f"cannot resume {self.root}: {key} was {previous.get(key)!r}, now {plan.get(key)!r}"
                f"{' (and ' + ', '.join(changed[1:]) + ')' if changed[1:] else ''}; "
                "resume with the same settings or choose an empty folder"
            )

    def _remove_temporaries(self) -> None:
        """Drop half-written shards of a run that was killed (safe: this process holds the lock)."""
        for path in [*self.root.glob(TEMPORARY_GLOB), *self.job_dir.glob(TEMPORARY_GLOB)]:
            remove_temporary(path)


def _lock_or_fail(lock: IO[str], root: Path) -> None:
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise JobError(f"another storysplit clean is writing to {root}; wait for it or stop it") from None

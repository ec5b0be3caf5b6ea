"""`storysplit-dev bench-sites`: `storysplit clean --site-field` on a large crawl, beside the one-pass job.

With a site field the corpus job makes two passes (count each site's lines in bounded memory, then
clean with the counts), so a user needs to know what the first pass costs in time and memory at
the scale of a real crawl. The crawl is `evaluation.synthetic_crawl`'s, made from a saved corpus
split: `--sites` templates (the lines outside a real page's story) each wrapping `--pages` stories
of other sites, written as JSONL.gz with a `site` field. Both jobs run as whole `storysplit clean`
commands with the same workers, one after the other, under a small process that reports wall time
and the peak RSS of the largest process of the job (its parent holds the counts, each worker a
model). With `--ray-documents N` the first N documents are also cleaned with site evidence by the
local and the Ray engine, and their site tables and cleaned texts compared.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from storysplit.arguments import positive_int
from storysplit.errors import StorysplitError
from storysplit.evaluation.bench_commands import MeasuredRun, measured_run
from storysplit.evaluation.data import read_rows
from storysplit.evaluation.synthetic_crawl import crawl_rows

DEFAULT_DATA = "data/corpus:train"
SITE_FIELD = "site"
GOAL_SHARE = 0.8
"""The two-pass job's throughput, as a share of the one-pass job's, that issue 23 asks for."""


@dataclass(frozen=True)
class JobRun:
    """One whole `storysplit clean` command: what it was, its figures, and what it reported."""

    name: str
    documents: int
    seconds: float
    peak_rss_mb: float
    report: list[str]
    """The job's own summary lines from stderr (the count pass, the cleaning)."""

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else 0.0


def write_crawl(rows: Iterable[Mapping[str, Any]], path: Path) -> tuple[int, int, int]:
    """Write crawl pages as JSONL.gz records {id, site, text}.

    Returns:
        Documents, sites and bytes of text written.
    """
    documents, sites, text_bytes = 0, set(), 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as handle:
        for row in rows:
            record = {"id": row["id"], SITE_FIELD: row["domain"], "text": row["text"]}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            documents += 1
            sites.add(row["domain"])
            text_bytes += len(row["text"].encode("utf-8"))
    return documents, len(sites), text_bytes


def clean_command(model: Path, source: Path, output: Path, workers: int, *extra: str) -> list[str]:
    """`storysplit clean` on `source` into `output`, as a whole command run from any folder."""
    return [
        sys.executable, "-m", "storysplit.cli", "clean", str(source.resolve()), str(output.resolve()),
        "--model", str(model.resolve()), "--workers", str(workers), *extra,
    ]  # fmt: skip


def run_job(name: str, command: list[str], folder: Path, documents: int) -> JobRun:
    """Run one job and keep the summary lines it prints (every line starting "storysplit clean:")."""
    run: MeasuredRun = measured_run(command, folder, f"storysplit clean {name}".strip())
    report = [line for line in run.stderr.splitlines() if line.startswith("storysplit clean:")]
    return JobRun(name, documents, run.seconds, run.peak_rss_mb, report)


def read_cleaned(folder: Path) -> dict[str, str]:
    """id → cleaned text of every record a job wrote under `folder` (its JSONL.gz files, any layout)."""
    cleaned = {}
    for path in sorted(folder.rglob("*.jsonl.gz")):
        if ".storysplit" in path.parts:
            continue
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                cleaned[record["id"]] = record["text"]
    return cleaned


def same_site_tables(first: Path, second: Path) -> bool:
    """Whether two jobs' `sites.npz` hold the same arrays."""
    with np.load(first, allow_pickle=False) as a, np.load(second, allow_pickle=False) as b:
        return sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in a.files)


def compare_engines(model: Path, source: Path, folder: Path, documents: int, workers: int) -> dict[str, Any]:
    """Clean the first `documents` of `source` with site evidence on both engines and compare them."""
    subset = folder / f"first-{documents}.jsonl.gz"
    with (
        gzip.open(source, "rt", encoding="utf-8") as reader,
        gzip.open(subset, "wt", encoding="utf-8") as writer,
    ):
        writer.writelines(itertools.islice(reader, documents))
    runs, outputs = [], {}
    for engine in ("local", "ray"):
        output = folder / f"{engine}-{documents}"
        command = clean_command(
            model, subset, output, workers, "--site-field", SITE_FIELD, "--engine", engine
        )
        runs.append(run_job(f"--site-field {SITE_FIELD} --engine {engine}", command, folder, documents))
        outputs[engine] = read_cleaned(output)
    local, ray = outputs["local"], outputs["ray"]
    return {
        "documents": documents,
        "runs": [asdict(run) | {"documents_per_second": run.documents_per_second} for run in runs],
        "same_site_table": same_site_tables(
            folder / f"local-{documents}" / ".storysplit" / "sites.npz",
            folder / f"ray-{documents}" / ".storysplit" / "sites.npz",
        ),
        "same_ids": local.keys() == ray.keys(),
        "same_texts": sum(local[key] == ray.get(key) for key in local),
    }


def report(crawl: dict[str, Any], runs: list[JobRun], engines: dict[str, Any] | None) -> str:
    """The measurements as markdown."""
    one_pass, two_pass = runs
    share = two_pass.documents_per_second / one_pass.documents_per_second
    lines = [
        f"Crawl: {crawl['documents']:,} documents of {crawl['sites']:,} sites, "
        f"{crawl['text_bytes'] / 1e9:.2f} GB of text ({crawl['data']}, seed-fixed), {crawl['workers']} "
        f"worker(s), load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| job | wall s | docs/s | peak RSS MB (largest process) |",
        "|---|---:|---:|---:|",
        *(
            f"| `storysplit clean{' ' if run.name else ''}{run.name}` | {run.seconds:,.0f} | "
            f"{run.documents_per_second:.1f} | {run.peak_rss_mb:,.0f} |"
            for run in runs
        ),
        "",
        f"Two passes run at {share:.0%} of the one-pass job's rate (goal ≥ {GOAL_SHARE:.0%}: "
        f"{'met' if share >= GOAL_SHARE else 'not met'}).",
        "",
        *(f"    {line}" for run in runs for line in run.report),
    ]
    if engines is not None:
        lines += [
            "",
            f"Local and Ray engines, with site evidence, on the first {engines['documents']:,} documents: "
            f"same site table: {engines['same_site_table']}; same ids: {engines['same_ids']}; "
            f"same cleaned text: {engines['same_texts']:,} of {engines['documents']:,}.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storysplit-dev bench-sites", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    parser.add_argument("--data", default=DEFAULT_DATA, help="saved corpus split the crawl is made from")
    parser.add_argument("--seeds-dir", type=Path, default=Path("../shared/seeds"))
    parser.add_argument("--sites", type=positive_int, default=1000, help="sites (templates) in the crawl")
    parser.add_argument("--pages", type=positive_int, default=100, help="pages per site")
    parser.add_argument("--workers", type=positive_int, default=2, help="workers of each job")
    parser.add_argument("--ray-documents", type=positive_int, help="also compare the engines on this many")
    parser.add_argument("--output", type=Path, default=Path("runs/bench-sites"), help="empty or new folder")
    args = parser.parse_args(argv)
    if args.output.exists() and any(args.output.iterdir()):
        raise StorysplitError(f"{args.output} is not empty: name a new folder with --output")
    args.output.mkdir(parents=True, exist_ok=True)
    source = args.output / "crawl.jsonl.gz"
    documents, sites, text_bytes = write_crawl(
        crawl_rows(read_rows(args.data, args.seeds_dir), crawls=args.sites, pages=args.pages), source
    )
    print(
        f"storysplit-dev bench-sites: wrote {documents:,} documents of {sites:,} sites to {source}",
        flush=True,
    )
    crawl = {
        "documents": documents,
        "sites": sites,
        "text_bytes": text_bytes,
        "data": args.data,
        "workers": args.workers,
    }
    runs = [
        run_job(
            "",
            clean_command(args.model, source, args.output / "one-pass", args.workers),
            args.output,
            documents,
        ),
        run_job(
            f"--site-field {SITE_FIELD}",
            clean_command(
                args.model, source, args.output / "sites", args.workers, "--site-field", SITE_FIELD
            ),
            args.output,
            documents,
        ),
    ]
    engines = None
    if args.ray_documents is not None:
        engines = compare_engines(args.model, source, args.output, args.ray_documents, args.workers)
    text = report(crawl, runs, engines)
    (args.output / "report.md").write_text(text + "\n", encoding="utf-8")
    results = {"crawl": crawl, "runs": [asdict(run) for run in runs], "engines": engines}
    (args.output / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

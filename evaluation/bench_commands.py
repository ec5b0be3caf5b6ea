"""Whole commands side by side on full news pages: what a user waits for from the shell.

`storysplit-dev bench`'s main table times methods inside warm worker processes. A user cleaning pages
also pays start-up (imports, model load) and reads and writes files; this part times whole
commands, start to exit: `storysplit segment` on the pages' plain text and trafilatura in one
Python process on the same pages' HTML, for all pages and for one page. The commands run
interleaved, `runs` times each, so a busy spell of a shared machine hits both alike, and the
table gives each one's median wall time and the ratios the speed goals are stated in.

The plain text is what a scraper that drops the HTML keeps: each page rendered by html-text with its
layout guessed (`html_text.extract_text(html, guess_layout=True)`, line breaks at block elements).

Some scrapers flatten a page, or a whole crawl, into one line. `time_one_line_documents` times
`storysplit segment` on such documents of growing size (1, 5 and 20 MB by default, made of real
text), once each, with each run's peak RSS: every step must grow linearly with the input, so the
seconds per MB must stay flat from the smallest document to the largest.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from storysplit.errors import StorysplitError
from storysplit.evaluation.html_baselines import read_html
from storysplit.features.segmentation import split_document

DEFAULT_PAGE_SETS = ("news-fixtures", "multilingual-news")
ONE_LINE_MEGABYTES = (1.0, 5.0, 20.0)
TRAFILATURA_PAGES = """
import sys
from multiprocessing import Pool
from pathlib import Path
import trafilatura

def clean(page):
    text = trafilatura.extract(page.read_text(encoding="utf-8")) or ""
    (output / (page.stem + ".txt")).write_text(text, encoding="utf-8")

output = Path(sys.argv[2])
output.mkdir(exist_ok=True)
pages = sorted(Path(sys.argv[1]).glob("*.html"))
if sys.argv[3] == "1":
    for page in pages:
        clean(page)
else:
    with Pool(int(sys.argv[3])) as pool:
        pool.map(clean, pages, chunksize=8)
"""
MEASURED_RUN = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
sys.exit(code)
"""
TRAFILATURA_PAGE = """
import sys
import trafilatura
print(trafilatura.extract(open(sys.argv[1], encoding="utf-8").read()))
"""


@dataclass(frozen=True)
class CommandTiming:
    """Wall times of one command over the interleaved runs."""

    name: str
    pages: int
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def docs_per_second(self) -> float:
        return self.pages / self.median


@dataclass(frozen=True)
class OneLineTiming:
    """`storysplit segment` on one document of `megabytes` MB (UTF-8) on a single line."""

    megabytes: float
    segments: int
    seconds: float
    peak_rss_mb: float


def prepare_pages(data_dir: Path, sets: Sequence[str], limit: int, folder: Path) -> list[str]:
    """Write each page's HTML (`html/NAME.html`) and rendered text (`text/NAME.txt`) under `folder`.

    Returns:
        The page names, sorted; at most `limit` of them.

    Raises:
        StorysplitError: a set has no `html/` folder, or no page was found.
    """
    import html_text

    (folder / "html").mkdir(parents=True, exist_ok=True)
    (folder / "text").mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for name in sets:
        html_dir = data_dir / name / "html"
        if not html_dir.is_dir():
            raise StorysplitError(f"no HTML pages in {html_dir}: --page-sets names sets of {data_dir}")
        for path in sorted(html_dir.iterdir()):
            if len(names) == limit:
                break
            html = read_html(html_dir, path.name)
            page = f"{name}-{path.name.split('.')[0]}"
            (folder / "html" / f"{page}.html").write_text(html, encoding="utf-8")
            text = html_text.extract_text(html, guess_layout=True)
            (folder / "text" / f"{page}.txt").write_text(text, encoding="utf-8")
            names.append(page)
    if not names:
        raise StorysplitError(f"no pages found in {', '.join(sets)} under {data_dir}")
    return sorted(names)


def time_commands(
    folder: Path, pages: list[str], model: Path, runs: int, workers: int
) -> list[CommandTiming]:
    """Run the commands interleaved `runs` times: all pages with one process each, with `workers`
    processes each (when more than one), and the median-sized page alone.

    Returns:
        Timings in pairs, storysplit then trafilatura: all pages, [all pages in parallel,] one page.
    """
    python = sys.executable
    storysplit = [python, "-m", "storysplit.cli", "segment", "--model", str(model.resolve())]
    by_size = sorted(pages, key=lambda page: (folder / "text" / f"{page}.txt").stat().st_size)
    one = by_size[len(by_size) // 2]
    text, html, n = str(folder / "text"), str(folder / "html"), len(pages)
    commands = {
        f"storysplit segment --workers 1 on {n} pages' text": (
            [*storysplit, text, "--output", "out-s1", "--workers", "1"],
            n,
        ),
        f"trafilatura on {n} pages' HTML, one process": (
            [python, "-c", TRAFILATURA_PAGES, html, "out-t1", "1"],
            n,
        ),
    }
    if workers > 1:
        commands |= {
            f"storysplit segment --workers {workers} on {n} pages' text": (
                [*storysplit, text, "--output", f"out-s{workers}", "--workers", str(workers)],
                n,
            ),
            f"trafilatura on {n} pages' HTML, {workers} processes": (
                [python, "-c", TRAFILATURA_PAGES, html, f"out-t{workers}", str(workers)],
                n,
            ),
        }
    commands |= {
        "storysplit segment PAGE.txt": ([*storysplit, str(folder / "text" / f"{one}.txt")], 1),
        "trafilatura.extract(PAGE.html)": (
            [python, "-c", TRAFILATURA_PAGE, str(folder / "html" / f"{one}.html")],
            1,
        ),
    }
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, _count) in commands.items():
            started = time.perf_counter()
            done = subprocess.run(
                command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            seconds[name].append(time.perf_counter() - started)
            if done.returncode != 0:
                message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
                raise StorysplitError(f"{name} failed: {message[-1] if message else done.returncode}")
    return [CommandTiming(name, count, seconds[name]) for name, (_command, count) in commands.items()]


def command_table(timings: list[CommandTiming]) -> str:
    """The timings as a markdown table, then the ratios the speed goals are stated in."""
    rows = [
        "| command | pages | median wall s | min s | max s | docs/s |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {t.name} | {t.pages} | {t.median:.2f} | {min(t.seconds):.2f} | {max(t.seconds):.2f} | "
            f"{t.docs_per_second:,.1f} |"
            for t in timings
        ),
        "",
    ]
    pairs = [timings[i : i + 2] for i in range(0, len(timings), 2)]
    for ours, theirs in pairs[:-1]:
        rows.append(
            f"{ours.name}: {ours.docs_per_second:.1f} docs/s = "
            f"{ours.docs_per_second / theirs.docs_per_second:.2f}x trafilatura's (goal >= 2x)"
        )
    ours, theirs = pairs[-1]
    rows.append(
        f"one page: storysplit {ours.median:.2f} s / trafilatura {theirs.median:.2f} s = "
        f"{ours.median / theirs.median:.2f}x (goal <= 1.5x); load average {os.getloadavg()[0]:.1f}"
    )
    return "\n".join(rows)


def one_line_document(texts: Sequence[str], n_bytes: int) -> str:
    """`texts` with every run of whitespace made one space, joined into one line and repeated until
    it holds `n_bytes` bytes of UTF-8 (cut at a character's end, so it may hold a few less).

    Raises:
        StorysplitError: `texts` hold no words.
    """
    flat = " ".join(" ".join(text.split()) for text in texts).strip().encode("utf-8")
    if not flat:
        raise StorysplitError("no text to make one-line documents of")
    repeated = (flat + b" ") * (n_bytes // (len(flat) + 1) + 1)
    return repeated[:n_bytes].decode("utf-8", errors="ignore").rstrip()


def time_one_line_documents(
    folder: Path, texts: Sequence[str], sizes: Sequence[float], model: Path, max_chars: int
) -> list[OneLineTiming]:
    """Write a one-line document of each size (MB) made of `texts` under `folder`, and time
    `storysplit segment` on each, once, with its peak RSS."""
    command = [sys.executable, "-m", "storysplit.cli", "segment", "--model", str(model.resolve())]
    timings = []
    for megabytes in sizes:
        n_bytes = round(megabytes * 1e6)
        document = one_line_document(texts, n_bytes)
        path = folder / f"one-line-{megabytes:g}MB.txt"
        path.write_text(document, encoding="utf-8")
        arguments = [str(path), "--max-bytes", str(n_bytes), "--workers", "1"]
        run = measured_run([*command, *arguments], folder, f"{megabytes:g} MB on one line")
        segments = len(split_document(document, max_chars))
        timings.append(OneLineTiming(megabytes, segments, run.seconds, run.peak_rss_mb))
    return timings


@dataclass(frozen=True)
class MeasuredRun:
    """A whole command's wall seconds, the peak RSS of its largest process, and what it wrote to stderr."""

    seconds: float
    peak_rss_mb: float
    stderr: str


def measured_run(command: list[str], folder: Path, name: str) -> MeasuredRun:
    """Run `command` in `folder` and measure it.

    It runs under a small Python process that reports the figures: a process forked from this one
    (which holds the texts) would count this one's memory in its own peak, even after exec. The
    peak is that of the largest process of the command's tree (a job's parent or one worker).

    Raises:
        StorysplitError: the command failed (its last line of stderr says why).
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", MEASURED_RUN, *command], cwd=folder, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()
        raise StorysplitError(f"{name} failed: {message[-1] if message else done.returncode}")
    measured = json.loads(done.stdout)
    return MeasuredRun(measured["seconds"], measured["peak_rss_kb"] / 1024, done.stderr)


def one_line_table(timings: list[OneLineTiming]) -> str:
    """The one-line timings as a markdown table; seconds per MB stay flat when every step is linear."""
    rows = [
        "| one-line document | segments | wall s | s per MB | peak RSS MB |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {t.megabytes:g} MB | {t.segments:,} | {t.seconds:.2f} | {t.seconds / t.megabytes:.2f} | "
            f"{t.peak_rss_mb:,.0f} |"
            for t in timings
        ),
        "",
        f"whole `storysplit segment` commands, start-up included; load average {os.getloadavg()[0]:.1f}",
    ]
    return "\n".join(rows)

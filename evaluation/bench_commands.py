"""Whole commands side by side on full news pages: what a user waits for from the shell.

`storysplit bench`'s main table times methods inside warm worker processes. A user cleaning pages
also pays start-up (imports, model load) and reads and writes files; this part times whole
commands, start to exit: `storysplit segment` on the pages' plain text and trafilatura in one
Python process on the same pages' HTML, for all pages and for one page. The commands run
interleaved, `runs` times each, so a busy spell of a shared machine hits both alike, and the
table gives each one's median wall time and the ratios the speed goals are stated in.

The plain text is what a scraper that drops the HTML keeps: each page rendered by html-text with its
layout guessed (`html_text.extract_text(html, guess_layout=True)`, line breaks at block elements).
"""

from __future__ import annotations

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

DEFAULT_PAGE_SETS = ("news-fixtures", "multilingual-news")
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
        f"{ours.median / theirs.median:.2f}x (goal <= 2x); load average {os.getloadavg()[0]:.1f}"
    )
    return "\n".join(rows)

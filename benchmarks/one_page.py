"""Wall time of cleaning one page from the shell: `storysplit segment` on its text, trafilatura on its HTML.

What a user waits for when cleaning a single page is mostly start-up (imports, model load), which
`storysplit bench` reports apart; this times whole commands, interleaved so that a busy spell of
the shared machine hits both alike.

Usage: `python benchmarks/one_page.py [--runs 7] [--text PAGE.txt] [--html PAGE.html.gz]`
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
TRAFILATURA = (
    "import gzip, sys, trafilatura; "
    "print(trafilatura.extract(gzip.open(sys.argv[1], 'rt', encoding='utf-8').read()))"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--text", type=Path, help="default: the first seed document")
    parser.add_argument("--html", type=Path, help="default: the first news fixture page")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs both commands")
    args = parser.parse_args(argv)
    text = args.text or sorted((SHARED / "seeds").glob("*.txt"))[0]
    html = args.html or SHARED / "data" / "news-fixtures" / "html" / "0001.html.gz"
    commands = {
        "storysplit segment PAGE.txt": [args.python, "-m", "storysplit.cli", "segment", str(text)],
        "trafilatura.extract(PAGE.html)": [args.python, "-c", TRAFILATURA, str(html)],
    }
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - started)
    for name, values in times.items():
        print(
            f"{name:<32} median {statistics.median(values):.2f} s  "
            f"min {min(values):.2f}  max {max(values):.2f}  ({len(values)} runs)"
        )
    ratio = statistics.median(times[next(iter(commands))]) / statistics.median(times[list(commands)[1]])
    print(f"storysplit / trafilatura: {ratio:.1f}x; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`storysplit evaluate MODEL`: score a model and every baseline on labelled documents.

Prints the results tables, writes the report folder and, with `--gate`, fails (exit 1) when a
token-F1 floor kept in git is not met or the eval data no longer matches the floors. Progress goes
to stderr, one line per method and set; what the libraries warn about or log (boilerpy3 on nested
links, scikit-learn, ...) goes to `library-warnings.log` in the report folder, not the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import yaml

from storysplit.evaluation.data import SEEDS_SPEC
from storysplit.evaluation.gate import check_floors, load_floors, measured_floors
from storysplit.evaluation.html_baselines import html_baselines
from storysplit.evaluation.report import results_tables, write_report
from storysplit.evaluation.runner import evaluate_all

DEFAULT_DATA = ("data/corpus:validation", SEEDS_SPEC)
DEFAULT_SEEDS_DIR = Path("../shared/seeds")
DEFAULT_DATA_DIR = Path("../shared/data")
LIBRARY_LOG = "library-warnings.log"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storysplit evaluate",
        description="Score a model and the baselines on labelled documents; write a report; gate on floors.",
    )
    parser.add_argument("model", type=Path, help="model folder written by `storysplit train`")
    parser.add_argument(
        "--data",
        action="append",
        metavar="SPEC",
        help="'seeds', a corpus-format .jsonl file, or a saved dataset as DIR[:SPLIT]; repeatable "
        f"(default: {' and '.join(DEFAULT_DATA)}, or the specs in --gate's floors)",
    )
    parser.add_argument("--seeds-dir", type=Path, default=DEFAULT_SEEDS_DIR, help="seed texts and gold.jsonl")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where rows' html_path values are relative to"
    )
    parser.add_argument("--output", type=Path, help="report folder (default: runs/eval/<timestamp>)")
    parser.add_argument("--gate", type=Path, metavar="FLOORS", help="floors file, e.g. configs/floors.yaml")
    parser.add_argument("--first-lines", type=int, default=20, help="N of the keep-first-N-lines baseline")
    parser.add_argument("--no-html", action="store_true", help="skip the HTML extractors (faster)")
    parser.add_argument(
        "--print-floors",
        action="store_true",
        help="print the measured floors as YAML, to set or refresh them",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation; 0 on success, 1 when the gate fails (other errors raise StorysplitError)."""
    args = build_parser().parse_args(argv)
    from storysplit import load_model

    model = load_model(args.model)
    floors = load_floors(args.gate) if args.gate else None
    specs = args.data or (list(floors.data) if floors else list(DEFAULT_DATA))
    html_methods = [] if args.no_html else html_baselines()
    output = args.output or Path("runs/eval") / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    with _library_noise_to(output / LIBRARY_LOG) as noise:
        results = evaluate_all(
            model, specs, args.seeds_dir, args.data_dir, args.first_lines, html_methods, _progress
        )
    if noise.records:
        _progress(f"{noise.records} library warning(s) in {output / LIBRARY_LOG}")
    print(results_tables(results))
    context = {
        "model": str(args.model),
        "max_chars": str(model.max_chars),
        "data": ", ".join(specs),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    report = write_report(results, output, context)
    print(f"report: {report.markdown}")
    if args.print_floors:
        print(yaml.safe_dump({"data": measured_floors(results, [m.name for m in results[0].methods])}))
    if floors is None:
        return 0
    outcome = check_floors(results, floors)
    for line in outcome.checks:
        print(f"gate: {line}")
    if outcome.passed:
        print("gate: passed")
        return 0
    for line in outcome.failures:
        print(f"gate failed: {line}", file=sys.stderr)
    return 1


def _progress(line: str) -> None:
    print(f"storysplit evaluate: {line}", file=sys.stderr, flush=True)


class _Counter(logging.Handler):
    """Counts the records written beside it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1


@contextlib.contextmanager
def _library_noise_to(path: Path) -> Iterator[_Counter]:
    """Warnings and log records of WARNING or above go to `path` (created on the first), not stderr.

    Python prints both to stderr by default (warnings, and log records of loggers with no handler),
    where they would bury the progress lines and the results; in the report folder they stay
    available. `-W` or PYTHONWARNINGS still decide which warnings are issued at all.
    """
    root = logging.getLogger()
    file_handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    file_handler.setLevel(logging.WARNING)
    file_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    counter = _Counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    root.addHandler(file_handler)
    root.addHandler(counter)
    logging.captureWarnings(True)
    try:
        yield counter
    finally:
        logging.captureWarnings(False)
        root.removeHandler(counter)
        root.removeHandler(file_handler)
        file_handler.close()

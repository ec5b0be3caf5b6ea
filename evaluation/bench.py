"""`storysplit-dev bench`: speed and quality of each encoder backend and of the baselines, in one table.

Every method runs in fresh worker processes (their own imports, model and peak memory) on one
fixed sample of real pages: one rendering of each validation page (renderers taken in turn), not
composed mixtures. For each method the table gives docs/s, segments/s and MB/s of input, the peak
RSS of one worker, the start-up time (imports and model load, paid once per job) and the token F1
of its output on the same sample, with medians over `--runs` timed passes. With `--workers N` the
sample is split across N processes that start each pass together (each with OMP_NUM_THREADS set
to its share of the cores); the pass ends when the last one finishes. The embedding cache (and
the encoder's own caches) is emptied before every pass, so passes are alike; within a pass it
serves repeated lines (menus, footers), as in a real job. trafilatura reads each sampled page's
HTML once. Two tables follow (`evaluation.bench_commands`): whole commands on full pages, and
`storysplit segment` on one-line documents of 1, 5 and 20 MB with each run's peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from storysplit.errors import StorysplitError
from storysplit.evaluation.bench_commands import (
    DEFAULT_PAGE_SETS,
    ONE_LINE_MEGABYTES,
    command_table,
    one_line_table,
    prepare_pages,
    time_commands,
    time_one_line_documents,
)
from storysplit.evaluation.data import EvalDocument, EvalSet, load_eval_set, sample_eval_set
from storysplit.evaluation.html_baselines import TrafilaturaHtml, read_html
from storysplit.evaluation.line_rules import C4Lines
from storysplit.evaluation.methods import SegmentDecisions, SegmentedText
from storysplit.evaluation.runner import (
    COMPOSED_RENDERER,
    PreparedDocument,
    prepare,
    run_html_method,
    run_text_method,
)
from storysplit.evaluation.summary import summarize
from storysplit.features.segmentation import split_document

DEFAULT_MODELS = ("models/default", "models/minilm-onnx-int8", "models/minilm")  # those present
DEFAULT_DATA = "data/corpus:validation"
MAX_CHARS = 1000


@dataclass(frozen=True)
class Measurement:
    """One method's row of the table (times in seconds, memory in MB)."""

    method: str
    reads: str
    workers: int
    documents: int
    segments: int
    megabytes: float
    pass_seconds: list[float]
    startup_seconds: float
    peak_rss_mb: float
    token_f1: float

    @property
    def seconds(self) -> float:
        return statistics.median(self.pass_seconds)

    def row(self) -> str:
        per_second = 1.0 / self.seconds
        return (
            f"| {self.method} | {self.reads} | {self.workers} | {self.documents * per_second:,.1f} | "
            f"{self.segments * per_second:,.0f} | {self.megabytes * per_second:.2f} | "
            f"{self.peak_rss_mb:,.0f} | {self.startup_seconds:.1f} | {self.token_f1:.3f} |"
        )


TABLE_HEADER = (
    "| method | reads | workers | docs/s | segments/s | MB/s | peak RSS MB (per worker) | start-up s "
    "| token F1 |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storysplit-dev bench", description=__doc__)
    parser.add_argument("--data", default=DEFAULT_DATA, help="labelled data spec (see storysplit evaluate)")
    parser.add_argument("--docs", type=int, default=300, help="documents in the fixed sample")
    parser.add_argument("--runs", type=int, default=5, help="timed passes per method (median reported)")
    parser.add_argument(
        "--model", action="append", help=f"model folder; repeatable (default: {DEFAULT_MODELS})"
    )
    parser.add_argument(
        "--workers", type=int, action="append", help="worker processes; repeatable (default: 1)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="documents per segment_many call")
    parser.add_argument("--seeds-dir", type=Path, default=Path("../shared/seeds"))
    parser.add_argument(
        "--data-dir", type=Path, default=Path("../shared/data"), help="root of rows' html_path"
    )
    parser.add_argument("--no-html", action="store_true", help="skip trafilatura on the pages' HTML")
    parser.add_argument("--output", type=Path, help="also write the measurements as JSON here")
    parser.add_argument(
        "--page-sets",
        default=",".join(DEFAULT_PAGE_SETS),
        help="sets under --data-dir whose full pages the whole-command rows use (comma-separated)",
    )
    parser.add_argument("--pages", type=int, default=400, help="full pages for the whole-command rows")
    parser.add_argument("--no-commands", action="store_true", help="skip the whole-command rows")
    parser.add_argument(
        "--commands-only", action="store_true", help="only the whole-command rows (first --model)"
    )
    parser.add_argument(
        "--one-line",
        type=_megabytes,
        default=ONE_LINE_MEGABYTES,
        metavar="MB,...",
        help="sizes of the one-line documents `storysplit segment` is timed on, made of the --data "
        "texts (comma-separated MB; default: 1,5,20)",
    )
    parser.add_argument("--no-one-line", action="store_true", help="skip the one-line document rows")
    parser.add_argument(
        "--one-line-only", action="store_true", help="only the one-line document rows (first --model)"
    )
    args = parser.parse_args(argv)
    if args.docs < 1 or args.runs < 1 or args.pages < 1:
        raise StorysplitError("--docs, --runs and --pages must be at least 1")
    if args.commands_only or args.one_line_only:
        model = Path(args.model[0]) if args.model else Path(DEFAULT_MODELS[0])
        rows = _command_rows(args, model) if args.commands_only else _one_line_rows(args, model, None)
        print(rows)
        return 0
    eval_set = load_eval_set(args.data, args.seeds_dir)
    prepared = prepare(_sample(eval_set, args.docs), MAX_CHARS)
    models = (
        [Path(m) for m in args.model] if args.model else [Path(m) for m in DEFAULT_MODELS if Path(m).is_dir()]
    )
    measurements = []
    for workers in args.workers or [1]:
        for model in models:
            measurements.append(bench_model(model, prepared, workers, args.runs, args.batch_size))
            _progress(measurements[-1])
        measurements.append(bench_c4(prepared, workers, args.runs))
        _progress(measurements[-1])
    if not args.no_html:
        measurements.append(bench_trafilatura(prepared, args.data_dir, args.runs))
        _progress(measurements[-1])
    print(f"\n{len(prepared)} documents from {args.data}, median of {args.runs} passes\n")
    print(TABLE_HEADER)
    print("\n".join(m.row() for m in measurements))
    if not args.no_commands:
        print(_command_rows(args, models[0]))
    if not args.no_one_line:
        print(_one_line_rows(args, models[0], eval_set))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        records = [asdict(m) | {"median_seconds": m.seconds} for m in measurements]
        args.output.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    return 0


def _command_rows(args: argparse.Namespace, model: Path) -> str:
    """Whole commands on full pages, side by side (`evaluation.bench_commands`)."""
    if not model.is_dir():
        raise StorysplitError(f"no model folder {model}")
    with tempfile.TemporaryDirectory(prefix="storysplit-bench-") as folder:
        pages = prepare_pages(args.data_dir, args.page_sets.split(","), args.pages, Path(folder))
        print(f"\nwhole commands on {len(pages)} full pages, {args.runs} interleaved runs", flush=True)
        workers = max(args.workers or [1])
        return "\n" + command_table(time_commands(Path(folder), pages, model, args.runs, workers))


def _one_line_rows(args: argparse.Namespace, model: Path, eval_set: EvalSet | None) -> str:
    """`storysplit segment` on one-line documents of growing size (`evaluation.bench_commands`)."""
    if not model.is_dir():
        raise StorysplitError(f"no model folder {model}")
    texts = [d.text for d in (eval_set or load_eval_set(args.data, args.seeds_dir)).documents]
    with tempfile.TemporaryDirectory(prefix="storysplit-bench-") as folder:
        sizes = ", ".join(f"{size:g}" for size in args.one_line)
        print(f"\none-line documents of {sizes} MB from {args.data}, one run each", flush=True)
        return "\n" + one_line_table(
            time_one_line_documents(Path(folder), texts, args.one_line, model, MAX_CHARS)
        )


def _megabytes(value: str) -> tuple[float, ...]:
    """Comma-separated positive sizes in MB."""
    try:
        sizes = tuple(float(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes in MB separated by commas, got {value!r}") from None
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError(f"sizes must be above 0 MB, got {value!r}")
    return sizes


def bench_model(
    model: Path, prepared: Sequence[PreparedDocument], workers: int, runs: int, batch_size: int
) -> Measurement:
    """A trained model folder on the sample's plain text."""
    if not model.is_dir():
        raise StorysplitError(f"no model folder {model}")
    texts = [p.document.text for p in prepared]
    timing = _timed_passes(_ModelTask(str(model), batch_size), texts, workers, runs)
    decisions = [
        SegmentDecisions(
            probabilities=_floats([s[3] for s in segments]),
            keep=_floats([s[2] for s in segments]).astype(bool),
        )
        for segments in timing.outputs
    ]
    return _text_measurement(str(model), workers, prepared, timing, decisions)


def bench_c4(prepared: Sequence[PreparedDocument], workers: int, runs: int) -> Measurement:
    """The C4 line rule, segmentation included (it reads the same plain text)."""
    texts = [p.document.text for p in prepared]
    timing = _timed_passes(_C4Task(), texts, workers, runs)
    decisions = [SegmentDecisions.from_keep(keep) for keep in timing.outputs]
    return _text_measurement("C4 line rule", workers, prepared, timing, decisions)


def bench_trafilatura(prepared: Sequence[PreparedDocument], data_dir: Path, runs: int) -> Measurement:
    """trafilatura on the HTML of each sampled page (one extraction per page, not per rendering)."""
    rendered = [p for p in prepared if p.document.html_path]
    if not rendered:
        raise StorysplitError("no sampled document has an html_path; pass --no-html")
    pages = sorted({p.document.html_path for p in rendered})
    html = [read_html(data_dir, page) for page in pages]
    timing = _timed_passes(_TrafilaturaTask(), html, 1, runs)
    result = run_html_method(
        _Recorded("trafilatura", dict(zip(html, timing.outputs, strict=True))), rendered, data_dir
    )
    return Measurement(
        method="trafilatura (page HTML)",
        reads="HTML",
        workers=1,
        documents=len(pages),
        segments=0,
        megabytes=sum(len(h.encode("utf-8")) for h in html) / 1e6,
        pass_seconds=timing.pass_seconds,
        startup_seconds=timing.startup_seconds,
        peak_rss_mb=timing.peak_rss_mb,
        token_f1=summarize(result.documents).token_f1,
    )


def _sample(eval_set: EvalSet, size: int) -> EvalSet:
    """A fixed sample holding one rendering of each page, renderers taken in turn.

    The renderings of one page share most of their lines, so within a pass the embedding cache
    would encode them once and flatter every encoder; a real corpus holds each page once.
    Composed mixtures have no page of their own and are left out.
    """
    pages: dict[str, list[EvalDocument]] = {}
    for document in eval_set.documents:
        if document.renderer != COMPOSED_RENDERER:
            pages.setdefault(document.html_path or document.id, []).append(document)
    if not pages:
        raise StorysplitError("the data holds no rendered pages to benchmark on")
    chosen = []
    for turn, page in enumerate(sorted(pages)):
        renderings = sorted(pages[page], key=lambda document: document.renderer)
        chosen.append(renderings[turn % len(renderings)])
    return sample_eval_set(EvalSet(f"{eval_set.spec}#one-per-page", tuple(chosen)), size)


def _text_measurement(
    name: str,
    workers: int,
    prepared: Sequence[PreparedDocument],
    timing: _Timing,
    decisions: list[SegmentDecisions],
) -> Measurement:
    result = run_text_method(_Decided(name, decisions), prepared)
    return Measurement(
        method=name,
        reads="text",
        workers=workers,
        documents=len(prepared),
        segments=sum(len(p.segmented.segments) for p in prepared),
        megabytes=sum(len(p.document.text.encode("utf-8")) for p in prepared) / 1e6,
        pass_seconds=timing.pass_seconds,
        startup_seconds=timing.startup_seconds,
        peak_rss_mb=timing.peak_rss_mb,
        token_f1=summarize(result.documents).token_f1,
    )


class _Decided:
    """A text method whose decisions were made (and timed) elsewhere."""

    graded = True

    def __init__(self, name: str, decisions: list[SegmentDecisions]) -> None:
        self.name, self.decisions = name, decisions

    def decide(self, documents: Sequence[SegmentedText]) -> list[SegmentDecisions]:
        return self.decisions


class _Recorded:
    """An HTML method whose extractions were made (and timed) elsewhere, looked up by page."""

    def __init__(self, name: str, extracted: dict[str, str]) -> None:
        self.name, self.extracted = name, extracted

    def extract(self, html: str) -> str:
        return self.extracted[html]


def _progress(measurement: Measurement) -> None:
    print(f"  {measurement.method} × {measurement.workers}: {measurement.seconds:.2f} s per pass", flush=True)


def _floats(values: Sequence[float]) -> Any:
    import numpy as np

    return np.asarray(values, dtype=np.float64)


# Worker side: everything below runs in spawned processes, so it imports only what the method needs.


@dataclass(frozen=True)
class _Timing:
    pass_seconds: list[float]
    startup_seconds: float
    peak_rss_mb: float
    outputs: list[Any]


class _ModelTask:
    """Loads a model; a pass labels the worker's documents in batches with an empty embedding cache."""

    def __init__(self, path: str, batch_size: int) -> None:
        self.path, self.batch_size = path, batch_size

    def load(self) -> Callable[[list[str]], list[Any]]:
        from storysplit.model import load_model, tune_gc_for_labelling

        model = load_model(self.path)
        model.segment_many(["Warm-up line.\n\nAnother line of text."])
        tune_gc_for_labelling()  # as the commands do once they have loaded a model

        def run(texts: list[str]) -> list[Any]:
            clear = getattr(model.encoder, "clear", None)
            if clear is not None:
                clear()
            out = []
            for first in range(0, len(texts), self.batch_size):
                for segments in model.segment_many(texts[first : first + self.batch_size]):
                    out.append([(s.start, s.end, s.label.is_main, s.probability) for s in segments])
            return out

        return run


class _C4Task:
    def load(self) -> Callable[[list[str]], list[Any]]:
        method = C4Lines()

        def run(texts: list[str]) -> list[Any]:
            documents = [SegmentedText(text, tuple(split_document(text, MAX_CHARS))) for text in texts]
            return [decision.keep.tolist() for decision in method.decide(documents)]

        return run


class _TrafilaturaTask:
    def load(self) -> Callable[[list[str]], list[Any]]:
        method = TrafilaturaHtml()
        method.extract("<html><body><p>Warm-up.</p></body></html>")
        return lambda pages: [method.extract(page) for page in pages]


def _timed_passes(task: Any, inputs: list[str], workers: int, runs: int) -> _Timing:
    """Run `task` on `inputs` split across `workers` spawned processes, `runs` times together."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers + 1)
    results = context.Queue()
    shards = [list(range(i, len(inputs), workers)) for i in range(workers)]
    processes = [
        context.Process(
            target=_worker, args=(task, number, [inputs[i] for i in shard], runs, barrier, results)
        )
        for number, shard in enumerate(shards)
    ]
    started = time.perf_counter()
    # Workers share the cores: torch, BLAS, OpenMP and onnxruntime read this when they start.
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    with _environment(OMP_NUM_THREADS=threads):
        for process in processes:
            process.start()
    pass_seconds: list[float] = []
    try:
        barrier.wait()  # every worker has loaded its method
        startup = time.perf_counter() - started
        for _ in range(runs):
            barrier.wait()
            begun = time.perf_counter()
            barrier.wait()
            pass_seconds.append(time.perf_counter() - begun)
    except threading.BrokenBarrierError:
        startup = 0.0  # a worker failed; its report says why
    reports = [results.get() for _ in processes]
    for process in processes:
        process.join()
    errors = [r["error"] for r in reports if "error" in r]
    if errors:
        raise StorysplitError(f"benchmark worker failed: {errors[0]}")
    outputs: list[Any] = [None] * len(inputs)
    for report in reports:
        for index, output in zip(shards[report["shard"]], report["outputs"], strict=True):
            outputs[index] = output
    return _Timing(pass_seconds, startup, max(r["peak_rss_mb"] for r in reports), outputs)


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _worker(task: Any, shard: int, inputs: list[str], runs: int, barrier: Any, results: Any) -> None:
    try:
        run = task.load()
        barrier.wait()
        outputs: list[Any] = []
        for _ in range(runs):
            barrier.wait()
            outputs = run(inputs)
            barrier.wait()
    except Exception as error:  # reported to the parent, which fails with it
        barrier.abort()
        results.put({"error": f"{type(error).__name__}: {error}"})
        return
    results.put({"shard": shard, "outputs": outputs, "peak_rss_mb": _own_peak_rss_mb()})


def _own_peak_rss_mb() -> float:
    """This worker's own peak RSS in MB.

    Linux keeps `ru_maxrss` across the exec that starts a spawned worker, so it would report the
    bench that forked it (its corpus and sample in memory); the peak of the worker's own address
    space (`VmHWM`) starts at the exec.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

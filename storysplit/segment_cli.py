"""`storysplit segment`: the main text of files, folders, stdin or JSONL, in batches.

Plain-text inputs give plain-text output (to stdout, or one file per input under `--output`);
JSONL input (`.jsonl` files, or every file and stdin with `--input-format jsonl`) of
`{"id", "text"}` records (`--id-field`, `--text-field` name others) gives
`{"id", "main_text", "segments"}` records. A bad JSONL line (not UTF-8, not JSON, no text field)
is reported by file and line number and the next line is read. `--html-report` also writes an
audit page with every document's kept and removed segments marked.
Text output mirrors the input folders under `--output`. A document that cannot be read, that the
model fails on, or whose output file another document already took is reported on stderr with its
name and skipped; the exit code is 1 if any was skipped, so nothing is lost silently.

With `--workers N` (default: one per core), batches are labelled in N processes of
`storysplit.worker_pool`, the pool `storysplit clean` uses, once there is more than one batch to
label. The workers are forked from the loaded model where the platform forks (they share its arrays
copy-on-write and start in milliseconds; it is pickled to them otherwise), and their results are
written in the order the batches went in, so output order never depends on timing.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from storysplit.arguments import add_model_option, available_cores, positive_int, threshold_argument
from storysplit.audit_page import AuditPageWriter, AuditReport
from storysplit.documents import DEFAULT_MAX_BYTES, decode_document
from storysplit.errors import InputError, StorysplitError
from storysplit.model import LabelledSegment, StorySplitModel, load_model, tune_gc_for_labelling
from storysplit.output_records import (
    MAIN_TEXT_FIELD,
    REMOVED_FIELD,
    ModelFailure,
    document_record,
    segment_with_retry,
)
from storysplit.records import ReadSettings, SourceDocument, read_jsonl, read_jsonl_file, read_text_file

TEXT_SUFFIXES = (".txt", ".text")
Outcome = list[LabelledSegment] | ModelFailure


@dataclass(frozen=True)
class Document:
    """A document to segment: its id (file name or JSONL id), text and text-output path.

    `output` is relative to `--output` (the file's path under its input folder, as `.txt`);
    None for JSONL records, whose results go to JSONL.
    """

    id: str
    text: str
    output: Path | None = None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    model = load_model(args.model)
    tune_gc_for_labelling()
    failures = 0
    jsonl = args.format == "jsonl" or args.input_format == "jsonl"
    jsonl = jsonl or (args.input_format == "auto" and any(p.suffix == ".jsonl" for p in args.inputs))
    with contextlib.ExitStack() as stack:
        sink = _open_sink(args.output, jsonl)
        if sink is not None and sink is not sys.stdout:
            stack.callback(sink.close)
        report = stack.enter_context(AuditReport(args.html_report)) if args.html_report else None
        batches = _Batches(args, sink)
        for outcomes in _labelled_batches(model, batches.texts(), args.threshold, args.workers):
            failures += _write_batch(batches.unwritten.popleft(), outcomes, args, sink, jsonl, report)
        failures += batches.skipped
    if failures:
        print(f"storysplit segment: {failures} document(s) skipped, see above", file=sys.stderr)
    return 1 if failures else 0


def _labelled_batches(
    model: StorySplitModel, batches: Iterable[list[str]], threshold: float | None, workers: int
) -> Iterator[list[Outcome]]:
    """Each batch's outcomes (`segment_with_retry`), in the order of `batches`.

    Raises:
        StorysplitError: a worker process died (killed, out of memory); what was yielded before stands.
    """
    batches = iter(batches)
    first = list(itertools.islice(batches, 2))
    if workers <= 1 or len(first) < 2:  # one batch (one page from the shell): no processes to start
        for texts in itertools.chain(first, batches):
            yield segment_with_retry(model, texts, threshold)
        return
    import multiprocessing  # here: a one-page command never starts a pool, nor pays these imports

    from storysplit.worker_pool import WorkerPool

    # The tokenizer's own thread pool must not be live in the parent when it forks.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    died = StorysplitError(
        "a worker process died (killed, or out of memory); use fewer --workers or smaller batches"
    )
    fork = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    tasks = ((texts, threshold) for texts in itertools.chain(first, batches))
    with WorkerPool(workers, start_method=fork, initializer=_install, initargs=(model,), died=died) as pool:
        yield from pool.in_order(_label, tasks)


_worker_model: StorySplitModel | None = None  # a labelling worker's model, set by `_install`


def _install(model: StorySplitModel) -> None:
    global _worker_model
    _worker_model = model


def _label(task: tuple[list[str], float | None]) -> list[Outcome]:
    if _worker_model is None:
        raise RuntimeError("worker started without a model")
    texts, threshold = task
    return segment_with_retry(_worker_model, texts, threshold)


class _Batches:
    """The inputs read into batches of documents; those not written yet wait in `unwritten`, in order.

    With several workers the batches are read ahead of the writing, so each batch's documents wait
    here until the outcomes of its texts come back.
    """

    def __init__(self, args: argparse.Namespace, sink: IO[str] | None) -> None:
        self.args, self.sink = args, sink
        self.unwritten: deque[list[Document]] = deque()
        self.skipped = 0

    def texts(self) -> Iterator[list[str]]:
        """Each batch's texts; unreadable inputs are reported on stderr and counted as skipped."""
        claimed: dict[Path, str] = {}
        batch: list[Document] = []
        for item in _documents(self.args):
            if isinstance(item, Document) and self.sink is None and item.output is not None:
                item = _claim_output(item, claimed, self.args.output)
            if isinstance(item, InputError):
                print(f"storysplit segment: skipped {item}", file=sys.stderr)
                self.skipped += 1
                continue
            batch.append(item)
            if len(batch) >= self.args.batch_size:
                yield self._hold(batch)
                batch = []
        if batch:
            yield self._hold(batch)

    def _hold(self, batch: list[Document]) -> list[str]:
        self.unwritten.append(batch)
        return [doc.text for doc in batch]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storysplit segment", description=__doc__)
    parser.add_argument(
        "inputs", nargs="*", type=Path, help="files, folders of .txt, .jsonl files; none or - reads stdin"
    )
    add_model_option(parser)
    parser.add_argument(
        "--output", "-o", type=Path, help="folder for text output, or file for JSONL (default: stdout)"
    )
    parser.add_argument(
        "--input-format",
        choices=("auto", "text", "jsonl"),
        default="auto",
        help="how to read the inputs: auto (default) reads .jsonl files as JSONL and everything else, "
        "stdin included, as one text per file; jsonl reads every file and stdin as JSONL records",
    )
    parser.add_argument("--text-field", default="text", help="JSONL field holding the text (default: text)")
    parser.add_argument(
        "--id-field",
        default="id",
        help="JSONL field holding the id (default: id; a record without one is named FILE:LINE)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "jsonl"),
        default="text",
        help="output format for text input (default: text); JSONL input always gives JSONL",
    )
    parser.add_argument(
        "--threshold", type=threshold_argument, help="keep segments with p(main) >= this (default: model's)"
    )
    parser.add_argument(
        "--keep-removed",
        action="store_true",
        help="also write the dropped text, for auditing: to stderr when the text goes to stdout, to "
        "NAME.removed.txt beside each NAME.txt under --output, and as a removed_text field in JSONL output",
    )
    parser.add_argument(
        "--html-report",
        type=Path,
        metavar="PATH",
        help="also write one self-contained HTML page showing each document with its kept and removed "
        "segments marked (open it in a browser; it holds every document's text, so use it on samples)",
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=32, help="documents per model call (default: 32)"
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=available_cores(),
        help=f"processes labelling batches side by side once there are two batches or more, output order "
        f"kept (default: {available_cores()}, the cores)",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        help=f"refuse larger documents (default: {DEFAULT_MAX_BYTES:,}); stdin stops being read past it",
    )
    return parser


def _documents(args: argparse.Namespace) -> Iterator[Document | InputError]:
    """Every document named by `args.inputs`, in order; unreadable ones come back as errors."""
    settings = ReadSettings(args.text_field, args.id_field, args.max_bytes)
    if _reads_stdin(args.inputs):
        if args.input_format == "jsonl":
            yield from _as_documents(read_jsonl(sys.stdin.buffer, "stdin", settings))
        else:
            yield _read_stdin(sys.stdin.buffer, args.max_bytes)
        return
    for path in args.inputs:
        if path.is_dir():
            suffixes = (".jsonl",) if args.input_format == "jsonl" else TEXT_SUFFIXES
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes)
            for file in files:
                if _is_jsonl(file, args.input_format):
                    yield from _as_documents(read_jsonl_file(file, str(file), settings))
                else:
                    output = file.relative_to(path).with_suffix(".txt")
                    yield _as_document(read_text_file(file, str(file), args.max_bytes), output)
        elif _is_jsonl(path, args.input_format):
            yield from _as_documents(read_jsonl_file(path, str(path), settings))
        else:
            output = Path(path.name).with_suffix(".txt")
            yield _as_document(read_text_file(path, str(path), args.max_bytes), output)


def _reads_stdin(inputs: list[Path]) -> bool:
    return not inputs or inputs == [Path("-")]


def _is_jsonl(path: Path, input_format: str) -> bool:
    return input_format == "jsonl" or (input_format == "auto" and path.suffix == ".jsonl")


def _read_stdin(stream: IO[bytes], max_bytes: int) -> Document | InputError:
    """stdin as one document; reads at most one byte more than `max_bytes`, so a huge stream is
    refused as soon as it passes the limit instead of after it was all held in memory."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        return InputError(f"stdin: document is over the {max_bytes:,} byte limit (raise it with --max-bytes)")
    try:
        return Document("stdin", decode_document(data, "stdin", max_bytes), Path("stdin.txt"))
    except InputError as error:
        return error


def _as_document(source: SourceDocument, output: Path | None = None) -> Document | InputError:
    """A read document, or the error that says why it could not be read."""
    return (
        InputError(source.problem) if source.problem is not None else Document(source.id, source.text, output)
    )


def _as_documents(sources: Iterable[SourceDocument]) -> Iterator[Document | InputError]:
    return (_as_document(source) for source in sources)


def _claim_output(doc: Document, claimed: dict[Path, str], folder: Path) -> Document | InputError:
    """`doc`, or an error if another document of this run already writes its output file."""
    assert doc.output is not None
    if doc.output in claimed:
        return InputError(
            f"{doc.id}: its output {folder / doc.output} would overwrite that of {claimed[doc.output]}; "
            "rename one or clean them in separate runs"
        )
    claimed[doc.output] = doc.id
    return doc


def _open_sink(output: Path | None, jsonl: bool) -> IO[str] | None:
    """stdout, an open JSONL file, or None when text output goes to one file per document."""
    if output is None:
        return sys.stdout
    if jsonl:
        output.parent.mkdir(parents=True, exist_ok=True)
        return output.open("w", encoding="utf-8")
    output.mkdir(parents=True, exist_ok=True)
    return None


def _write_batch(
    batch: list[Document],
    outcomes: list[Outcome],
    args: argparse.Namespace,
    sink: IO[str] | None,
    jsonl: bool,
    report: AuditPageWriter | None,
) -> int:
    """Write `batch`'s outcomes; returns how many documents were skipped because the model failed.

    A batch that failed was retried one document at a time (`segment_with_retry`), so one bad
    document fails alone.
    """
    failures = 0
    for doc, segments in zip(batch, outcomes, strict=True):
        if isinstance(segments, ModelFailure):
            print(f"storysplit segment: skipped {doc.id}: the model failed ({segments})", file=sys.stderr)
            failures += 1
            continue
        if report is not None:
            report.add(doc.id, doc.text, segments)
        # The segment list goes only into JSONL output; files and stdout get the texts.
        record = document_record(doc.text, segments, keep_removed=args.keep_removed, keep_segments=jsonl)
        if jsonl:
            assert sink is not None
            sink.write(json.dumps({"id": doc.id, **record}, ensure_ascii=False) + "\n")
        elif sink is None:
            _write_files(args.output, doc, record)
        else:
            if len(args.inputs) > 1 or any(path.is_dir() for path in args.inputs):
                sink.write(f"==> {doc.id} <==\n")
            sink.write(record[MAIN_TEXT_FIELD] + "\n")
            if args.keep_removed:
                print(f"==> removed from {doc.id} <==\n{record[REMOVED_FIELD]}", file=sys.stderr)
    if sink is not None:
        sink.flush()
    return failures


def _write_files(folder: Path, doc: Document, record: dict[str, Any]) -> None:
    """The main text as `folder/doc.output`, and the removed text beside it when the record has it."""
    assert doc.output is not None
    target = folder / doc.output
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(record[MAIN_TEXT_FIELD] + "\n", encoding="utf-8")
    if REMOVED_FIELD in record:
        target.with_suffix(".removed.txt").write_text(record[REMOVED_FIELD] + "\n", encoding="utf-8")

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
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from storysplit.audit_page import AuditPageWriter, AuditReport
from storysplit.bundled import DEFAULT_MODEL
from storysplit.documents import DEFAULT_MAX_BYTES, decode_document, oversize_message
from storysplit.errors import InputError
from storysplit.labels import SegmentLabel
from storysplit.model import LabelledSegment, StorySplitModel, join_segments, load_model
from storysplit.records import ReadSettings, jsonl_lines, line_limit, overlong_line, parse_jsonl_line

TEXT_SUFFIXES = (".txt", ".text")


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
    failures = 0
    jsonl = args.format == "jsonl" or args.input_format == "jsonl"
    jsonl = jsonl or (args.input_format == "auto" and any(p.suffix == ".jsonl" for p in args.inputs))
    claimed: dict[Path, str] = {}
    with contextlib.ExitStack() as stack:
        sink = _open_sink(args.output, jsonl)
        if sink is not None and sink is not sys.stdout:
            stack.callback(sink.close)
        report = stack.enter_context(AuditReport(args.html_report)) if args.html_report else None
        batch: list[Document] = []
        for item in _documents(args):
            if isinstance(item, Document) and sink is None and item.output is not None:
                item = _claim_output(item, claimed, args.output)
            if isinstance(item, InputError):
                print(f"storysplit segment: skipped {item}", file=sys.stderr)
                failures += 1
                continue
            batch.append(item)
            if len(batch) >= args.batch_size:
                failures += _write_batch(model, batch, args, sink, jsonl, report)
                batch = []
        if batch:
            failures += _write_batch(model, batch, args, sink, jsonl, report)
    if failures:
        print(f"storysplit segment: {failures} document(s) skipped, see above", file=sys.stderr)
    return 1 if failures else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storysplit segment", description=__doc__)
    parser.add_argument(
        "inputs", nargs="*", type=Path, help="files, folders of .txt, .jsonl files; none or - reads stdin"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=Path(os.environ.get("STORYSPLIT_MODEL", DEFAULT_MODEL)),
        help="model folder or shipped model name (default: $STORYSPLIT_MODEL, else the shipped default)",
    )
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
    parser.add_argument("--batch-size", type=int, default=32, help="documents per model call (default: 32)")
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        help=f"refuse larger documents (default: {DEFAULT_MAX_BYTES:,}); stdin stops being read past it",
    )
    return parser


def threshold_argument(value: str) -> float:
    """argparse type of `--threshold`: a probability strictly between 0 and 1."""
    number = float(value)
    if not 0.0 < number < 1.0:
        raise argparse.ArgumentTypeError(f"threshold must be between 0 and 1, got {value}")
    return number


def _documents(args: argparse.Namespace) -> Iterator[Document | InputError]:
    """Every document named by `args.inputs`, in order; unreadable ones come back as errors."""
    settings = ReadSettings(args.text_field, args.id_field, args.max_bytes)
    if _reads_stdin(args.inputs):
        if args.input_format == "jsonl":
            yield from _read_jsonl_stream(sys.stdin.buffer, "stdin", settings)
        else:
            yield _read_stdin(sys.stdin.buffer, args.max_bytes)
        return
    for path in args.inputs:
        if path.is_dir():
            suffixes = (".jsonl",) if args.input_format == "jsonl" else TEXT_SUFFIXES
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes)
            for file in files:
                if _is_jsonl(file, args.input_format):
                    yield from _read_jsonl(file, settings)
                else:
                    yield _read_file(file, args.max_bytes, file.relative_to(path).with_suffix(".txt"))
        elif _is_jsonl(path, args.input_format):
            yield from _read_jsonl(path, settings)
        else:
            yield _read_file(path, args.max_bytes, Path(path.name).with_suffix(".txt"))


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
    return _read_bytes("stdin", data, max_bytes, Path("stdin.txt"))


def _read_file(path: Path, max_bytes: int, output: Path) -> Document | InputError:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return InputError(oversize_message(str(path), size, max_bytes))
        data = path.read_bytes()
    except OSError as error:
        return InputError(f"{path}: cannot read ({error.strerror})")
    return _read_bytes(str(path), data, max_bytes, output)


def _read_bytes(name: str, data: bytes, max_bytes: int, output: Path) -> Document | InputError:
    try:
        return Document(name, decode_document(data, name, max_bytes), output)
    except InputError as error:
        return error


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


def _read_jsonl(path: Path, settings: ReadSettings) -> Iterator[Document | InputError]:
    try:
        handle = path.open("rb")
    except OSError as error:
        yield InputError(f"{path}: cannot read ({error.strerror})")
        return
    with handle:
        yield from _read_jsonl_stream(handle, str(path), settings)


def _read_jsonl_stream(
    handle: IO[bytes], name: str, settings: ReadSettings
) -> Iterator[Document | InputError]:
    """Each JSONL record of `handle` as a document; a bad line is an error naming `name:line`."""
    limit = line_limit(settings)
    number = 0
    try:
        for number, raw in jsonl_lines(handle, limit):
            where = f"{name}:{number}"
            source = overlong_line(where, limit) if raw is None else parse_jsonl_line(raw, where, settings)
            if source.problem is not None:
                yield InputError(source.problem)
            else:
                yield Document(source.id, source.text)
    except OSError as error:
        yield InputError(f"{name}:{number + 1}: cannot read further ({error}); rest skipped")


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
    model: StorySplitModel,
    batch: list[Document],
    args: argparse.Namespace,
    sink: IO[str] | None,
    jsonl: bool,
    report: AuditPageWriter | None,
) -> int:
    """Label and write `batch`; returns how many documents were skipped because the model failed.

    If the batch fails, its documents are retried one by one, so one bad document fails alone.
    """
    try:
        results = model.segment_many([doc.text for doc in batch], args.threshold)
    except Exception as error:
        if len(batch) > 1:
            return sum(_write_batch(model, [doc], args, sink, jsonl, report) for doc in batch)
        print(
            f"storysplit segment: skipped {batch[0].id}: the model failed ({type(error).__name__}: {error})",
            file=sys.stderr,
        )
        return 1
    for doc, segments in zip(batch, results, strict=True):
        if report is not None:
            report.add(doc.id, doc.text, segments)
        kept = join_segments(doc.text, [s for s in segments if s.label is SegmentLabel.MAIN])
        removed = join_segments(doc.text, [s for s in segments if s.label is not SegmentLabel.MAIN])
        if jsonl:
            assert sink is not None
            sink.write(
                json.dumps(_record(doc, kept, removed, segments, args.keep_removed), ensure_ascii=False)
                + "\n"
            )
        elif sink is None:
            _write_files(args.output, doc, kept, removed, args.keep_removed)
        else:
            if len(args.inputs) > 1 or any(path.is_dir() for path in args.inputs):
                sink.write(f"==> {doc.id} <==\n")
            sink.write(kept + "\n")
            if args.keep_removed:
                print(f"==> removed from {doc.id} <==\n{removed}", file=sys.stderr)
    if sink is not None:
        sink.flush()
    return 0


def _record(
    doc: Document, kept: str, removed: str, segments: list[LabelledSegment], keep_removed: bool
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": doc.id,
        "main_text": kept,
        "segments": [{**asdict(s), "label": s.label.value} for s in segments],
    }
    if keep_removed:
        record["removed_text"] = removed
    return record


def _write_files(folder: Path, doc: Document, kept: str, removed: str, keep_removed: bool) -> None:
    assert doc.output is not None
    target = folder / doc.output
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(kept + "\n", encoding="utf-8")
    if keep_removed:
        target.with_suffix(".removed.txt").write_text(removed + "\n", encoding="utf-8")

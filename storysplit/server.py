"""`storysplit serve`: the model over HTTP, with the standard library only.

Why not `mlflow models serve` on the logged pyfunc: that needs MLflow and its web stack wherever
text is cleaned (the inference package stays free of both), runs one model call per request, and
answers with the pyfunc's output, the main text alone. This server batches concurrent requests
into one `segment_many` call, returns the same `{"main_text", "segments"}` record as
`storysplit segment`'s JSONL output, and answers every bad request with a 4xx and a JSON message.

    GET  /health   -> 200 {"status": "ok", "model_manifest_sha256": ..., "feature_version": ...,
                           "threshold": ...}
    POST /segment  {"text": str, "threshold"?: float, "keep_removed"?: bool}
                   -> 200 {"main_text": str, "segments": [{"start", "end", "label", "probability"}]}

Errors are `{"error": message}`: 400 unreadable body (not UTF-8, not JSON), 404 unknown path,
405 wrong method, 411 no Content-Length, 413 body over `--max-bytes`, 415 not application/json,
422 a request that parses but cannot be segmented (no string "text", empty text, bad threshold).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from storysplit.documents import check_text
from storysplit.errors import InputError
from storysplit.model import DEFAULT_MODEL, LabelledSegment, StorySplitModel, load_model
from storysplit.output_records import ModelFailure, document_record, segment_with_retry

REQUEST_FIELDS = frozenset({"text", "threshold", "keep_removed"})
# Smaller than the batch CLI's 16 MiB: one model thread serves every client, and time grows faster
# than linearly with a document's segments (a 1 MB page took 6-12 s, a 4 MB one 50 s), so one
# huge request would stall all the others for minutes.
DEFAULT_MAX_BYTES = 1 << 20


class RequestError(Exception):
    """A request the server refuses, with the HTTP status that says why."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Job:
    text: str
    threshold: float | None
    done: threading.Event = field(default_factory=threading.Event)
    segments: list[LabelledSegment] | None = None
    error: str | None = None


class Batcher:
    """Runs requests that arrive together through the model in one `segment_many` call.

    Handler threads queue jobs and wait; one worker takes every job waiting (up to `max_batch`) and
    labels them at once. Nothing waits for a batch to fill: a lone request runs immediately, and
    under load requests gather while the model is busy with the previous batch. The model (and its
    embedding cache) is only ever called from that one thread.
    """

    def __init__(self, model: StorySplitModel, max_batch: int = 32) -> None:
        self.model = model
        self.max_batch = max_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="storysplit-batcher", daemon=True)
        self._worker.start()

    def segment(self, text: str, threshold: float | None) -> list[LabelledSegment]:
        """One document's labelled segments, computed in whatever batch it lands in."""
        job = _Job(text, threshold)
        self._queue.put(job)
        job.done.wait()
        if job.segments is None:
            raise RuntimeError(job.error or "the model failed")
        return job.segments

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join()

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            jobs = [first]
            stop = False
            while len(jobs) < self.max_batch and not self._queue.empty():
                job = self._queue.get_nowait()
                if job is None:
                    stop = True
                    break
                jobs.append(job)
            for threshold in dict.fromkeys(job.threshold for job in jobs):
                self._label([job for job in jobs if job.threshold == threshold], threshold)
            if stop:
                return

    def _label(self, jobs: Sequence[_Job], threshold: float | None) -> None:
        """Label `jobs` together; if that fails, one by one, so one bad document fails alone."""
        outcomes = segment_with_retry(self.model, [job.text for job in jobs], threshold)
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, ModelFailure):
                job.error = f"the model failed on this document: {outcome}"
                print(f"storysplit serve: {job.error}", file=sys.stderr)
            else:
                job.segments = outcome
        for job in jobs:
            job.done.set()


class StorySplitServer(ThreadingHTTPServer):
    """A threading HTTP server that holds the batcher and the request limits."""

    daemon_threads = True
    request_queue_size = 256  # many clients connect at once under load; the default backlog is 5

    def __init__(self, address: tuple[str, int], batcher: Batcher, max_bytes: int) -> None:
        super().__init__(address, _Handler)
        self.batcher = batcher
        self.max_bytes = max_bytes

    def server_close(self) -> None:
        super().server_close()
        self.batcher.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request or mid-response is one line on stderr, not a traceback.

        Anything else is a bug and keeps the base class's traceback.
        """
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):  # BrokenPipeError, ConnectionResetError, ...
            host, port = client_address[:2]
            print(
                f"storysplit serve: client {host}:{port} hung up before the response was sent "
                f"({type(error).__name__})",
                file=sys.stderr,
                flush=True,
            )
            return
        super().handle_error(request, client_address)


def make_server(
    model: StorySplitModel,
    host: str = "127.0.0.1",
    port: int = 8080,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_batch: int = 32,
) -> StorySplitServer:
    """A server bound to `host:port` (0 picks a free port); call `serve_forever()` to run it.

    The model labels one document first: its encoder loads on first use, which would otherwise
    make the first request seconds slower than the rest.
    """
    model.segment("Warm-up.")
    return StorySplitServer((host, port), Batcher(model, max_batch), max_bytes)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    model = load_model(args.model)
    server = make_server(model, args.host, args.port, args.max_bytes, args.batch_size)
    host, port = server.server_address[:2]
    print(f"storysplit serve: listening on http://{host!s}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storysplit serve", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=Path(os.environ.get("STORYSPLIT_MODEL", DEFAULT_MODEL)),
        help="model folder (default: $STORYSPLIT_MODEL, else the shipped models/default)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (0: any free port)")
    parser.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="refuse request bodies larger than this"
    )
    parser.add_argument("--batch-size", type=int, default=32, help="most documents per model call")
    return parser


class _Handler(BaseHTTPRequestHandler):
    """Routes requests; every answer, error or not, is JSON."""

    server: StorySplitServer
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their connection
    default_request_version = "HTTP/1.0"  # an unparsable request line still gets a status line
    timeout = 60  # seconds an idle or stalled connection may hold a thread

    def do_GET(self) -> None:
        if self.path != "/health":
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: GET {self.path}"})
            return
        model = self.server.batcher.model
        body = {
            "status": "ok",
            "model_manifest_sha256": model.manifest_sha256,
            "feature_version": model.manifest.get("feature_version"),
            "threshold": model.threshold,
        }
        self._send_json(HTTPStatus.OK, body)

    def do_POST(self) -> None:
        body: bytes | None = None
        try:
            if self.path != "/segment":
                raise RequestError(HTTPStatus.NOT_FOUND, f"no such endpoint: POST {self.path}")
            body = self._read_body()
            text, threshold, keep_removed = _parse_request(body, self.server.max_bytes)
            segments = self.server.batcher.segment(text, threshold)
            response = document_record(text, segments, keep_removed=keep_removed)
        except RequestError as error:
            # A body left unread must not be parsed as the connection's next request.
            self.close_connection = self.close_connection or body is None
            self._send_json(error.status, {"error": str(error)})
            return
        except Exception as error:
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(error).__name__}: {error}"})
            return
        self._send_json(HTTPStatus.OK, response)

    def _refuse_method(self) -> None:
        self.close_connection = True
        self._send_json(
            HTTPStatus.METHOD_NOT_ALLOWED,
            {"error": f"{self.command} is not allowed: use GET /health or POST /segment"},
            {"Allow": "GET, POST"},
        )

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse_method

    def _read_body(self) -> bytes:
        """The request body, after checking its type and declared length; it is read only if allowed."""
        content_type = self.headers.get("Content-Type", "")
        media_type, _, parameters = content_type.partition(";")
        charset = parameters.strip().lower().removeprefix("charset=").strip('"') if parameters else "utf-8"
        if media_type.strip().lower() != "application/json" or charset != "utf-8":
            raise RequestError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"expected Content-Type: application/json (UTF-8), got {content_type or 'none'!r}",
            )
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required")
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"invalid Content-Length: {length_header!r}")
        if length > self.server.max_bytes:
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"body is {length:,} bytes, over the limit of {self.server.max_bytes:,} (server --max-bytes)",
            )
        body = self.rfile.read(length)
        if len(body) < length:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body ended after {len(body)} of {length} bytes")
        return body

    def _send_json(self, status: HTTPStatus, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors the base class raises (malformed request line or headers) as JSON too."""
        self.close_connection = True
        self._send_json(HTTPStatus(code), {"error": message or HTTPStatus(code).phrase})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request would drown the errors that matter."""


def _parse_request(body: bytes, max_bytes: int) -> tuple[str, float | None, bool]:
    """The text, threshold and keep_removed flag of a `/segment` body, or a `RequestError`."""
    try:
        request = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid UTF-8 at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {error}") from None
    except (ValueError, RecursionError) as error:  # a 5000-digit number, arrays nested too deep
        raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not usable JSON: {error}") from None
    if not isinstance(request, dict):
        raise RequestError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            f'expected a JSON object with a string "text" field, got {_json_type(request)}',
        )
    unknown = sorted(set(request) - REQUEST_FIELDS)
    if unknown:
        raise RequestError(
            HTTPStatus.UNPROCESSABLE_ENTITY, f"unknown field(s) {unknown}; allowed: {sorted(REQUEST_FIELDS)}"
        )
    if "text" not in request:
        raise RequestError(HTTPStatus.UNPROCESSABLE_ENTITY, 'missing field "text"')
    text = request["text"]
    if not isinstance(text, str):
        raise RequestError(
            HTTPStatus.UNPROCESSABLE_ENTITY, f'"text" must be a string, got {_json_type(text)}'
        )
    threshold = request.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 < threshold < 1.0
    ):
        raise RequestError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            f'"threshold" must be a number between 0 and 1, got {threshold!r}',
        )
    keep_removed = request.get("keep_removed", False)
    if not isinstance(keep_removed, bool):
        raise RequestError(
            HTTPStatus.UNPROCESSABLE_ENTITY, f'"keep_removed" must be true or false, got {keep_removed!r}'
        )
    try:
        check_text(text, "request", max_bytes)
    except InputError as error:
        raise RequestError(HTTPStatus.UNPROCESSABLE_ENTITY, str(error)) from None
    return text, None if threshold is None else float(threshold), keep_removed


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")

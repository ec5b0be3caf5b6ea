"""The HTTP server: answers, every malformed request as a 4xx with a message, batching, and load."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from benchmarks.load_test import local_server, run_load
from storysplit import load_model
from storysplit.features.context import FEATURE_VERSION
from storysplit.model import LabelledSegment, StorySplitModel
from storysplit.server import Batcher, StorySplitServer, make_server

MAX_BYTES = 50_000
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def model(tiny_model_dir: Path) -> StorySplitModel:
    return load_model(tiny_model_dir)


@pytest.fixture(scope="module")
def server(model: StorySplitModel) -> Iterator[StorySplitServer]:
    server = make_server(model, port=0, max_bytes=MAX_BYTES)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _request(
    server: StorySplitServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] = JSON,
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    try:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def _raw(server: StorySplitServer, data: bytes) -> bytes:
    """Send bytes as they are (for requests http.client will not make); the reply up to close."""
    with socket.create_connection(server.server_address[:2], timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # the server sees the end of what was sent
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def test_health_and_segment_agree_with_the_model(
    server: StorySplitServer, model: StorySplitModel, seed_rows: list[dict[str, Any]], tiny_model_dir: Path
) -> None:
    manifest_sha256 = hashlib.sha256((tiny_model_dir / "manifest.json").read_bytes()).hexdigest()
    assert _request(server, "GET", "/health") == (
        200,
        {
            "status": "ok",
            "model_manifest_sha256": manifest_sha256,
            "feature_version": FEATURE_VERSION,
            "threshold": model.threshold,
        },
    )
    text = seed_rows[0]["text"]
    status, body = _request(
        server, "POST", "/segment", json.dumps({"text": text, "keep_removed": True}).encode()
    )
    assert status == 200
    assert body["main_text"] == model.extract(text)
    expected = model.segment(text)
    assert [(s["start"], s["end"], s["label"]) for s in body["segments"]] == [
        (s.start, s.end, s.label.value) for s in expected
    ]
    kept_and_removed = f"{body['main_text']}\n{body['removed_text']}".split()
    assert sorted(kept_and_removed) == sorted(w for s in expected for w in text[s.start : s.end].split())
    status, strict = _request(
        server, "POST", "/segment", json.dumps({"text": text, "threshold": 0.99}).encode()
    )
    assert status == 200 and len(strict["main_text"]) <= len(body["main_text"])


MALFORMED_BODIES = [
    (b"{not json", 400, "not valid JSON"),
    (b'{"text": "caf\xe9"}', 400, "not valid UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, 413, "over the limit"),
    (b"[" * 20_000 + b"]" * 20_000, 400, "not usable JSON"),
    (b'{"text": ' + b"9" * 5000 + b"}", 400, "not usable JSON"),
    (b'["a list"]', 422, "expected a JSON object"),
    (b'{"body": "x"}', 422, "unknown field(s) ['body']"),
    (b"{}", 422, 'missing field "text"'),
    (b'{"text": 42}', 422, '"text" must be a string, got a number'),
    (b'{"text": null}', 422, "got null"),
    (b'{"text": ""}', 422, "document is empty"),
    (b'{"text": " \\n\\t "}', 422, "document is empty"),
    (b'{"text": "a\\u0000b"}', 422, "NUL"),
    (b'{"text": "\\ud800 lone"}', 422, "lone surrogate (U+D800)"),
    (b'{"text": "x", "threshold": 1.5}', 422, '"threshold" must be a number'),
    (b'{"text": "x", "threshold": "0.5"}', 422, '"threshold" must be a number'),
    (b'{"text": "x", "threshold": true}', 422, '"threshold" must be a number'),
    (b'{"text": "x", "threshold": NaN}', 422, '"threshold" must be a number'),
    (b'{"text": "x", "keep_removed": "yes"}', 422, '"keep_removed" must be true or false'),
]


def _assert_error(reply: tuple[int, Any], status: int, message: str) -> None:
    got, body = reply
    assert got == status, body
    assert message in body["error"], body


@pytest.mark.parametrize(("body", "status", "message"), MALFORMED_BODIES)
def test_malformed_body_is_a_4xx_with_a_message(
    server: StorySplitServer, body: bytes, status: int, message: str
) -> None:
    _assert_error(_request(server, "POST", "/segment", body), status, message)
    assert _request(server, "GET", "/health")[0] == 200


def test_malformed_requests_are_4xx_with_a_message(server: StorySplitServer) -> None:
    body = b'{"text": "x"}'
    _assert_error(_request(server, "POST", "/segment", body, {}), 415, "expected Content-Type")
    _assert_error(
        _request(server, "POST", "/segment", body, {"Content-Type": "text/plain"}), 415, "text/plain"
    )
    latin = {"Content-Type": "application/json; charset=latin-1"}
    _assert_error(_request(server, "POST", "/segment", body, latin), 415, "latin-1")
    _assert_error(_request(server, "GET", "/nope"), 404, "no such endpoint: GET /nope")
    _assert_error(_request(server, "POST", "/nope", body), 404, "no such endpoint: POST /nope")
    _assert_error(_request(server, "PUT", "/segment", body), 405, "PUT is not allowed")
    _assert_error(_request(server, "DELETE", "/segment"), 405, "DELETE is not allowed")
    post = b"POST /segment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    too_large = _raw(server, post + f"Content-Length: {MAX_BYTES + 1}\r\n\r\n".encode())
    assert too_large.startswith(b"HTTP/1.1 413") and b"over the limit of 50,000" in too_large
    assert _raw(server, post + b"\r\n" + body).startswith(b"HTTP/1.1 411")
    assert _raw(server, post + b"Content-Length: -3\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert _raw(server, post + b"Content-Length: 99\r\n\r\n" + body).startswith(b"HTTP/1.1 400")
    garbage = _raw(server, b"\x00\xff GARBAGE\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.1 400") and b'{"error": "Bad' in garbage
    assert _request(server, "GET", "/health")[0] == 200


def test_a_refused_body_is_not_read_as_the_next_request(server: StorySplitServer) -> None:
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    connection.request("POST", "/nope", smuggled, JSON)
    response = connection.getresponse()
    assert response.status == 404 and response.getheader("Connection") == "close"
    response.read()
    connection.close()


class _RecordingModel:
    """Stands in for the model: records each batch, can hold the first one, fails on "boom"."""

    threshold = 0.5

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def segment_many(
        self, texts: Sequence[str], threshold: float | None = None
    ) -> list[list[LabelledSegment]]:
        if not self.batches:
            self.entered.set()
            self.release.wait(timeout=30)
        self.batches.append(list(texts))
        if "boom" in texts:
            raise ValueError("boom")
        return [[] for _ in texts]


def test_requests_that_arrive_together_are_labelled_in_one_batch() -> None:
    fake = _RecordingModel()
    batcher = Batcher(fake, max_batch=8)  # type: ignore[arg-type]
    results: dict[str, Any] = {}

    def ask(text: str) -> None:
        try:
            results[text] = batcher.segment(text, None)
        except RuntimeError as error:
            results[text] = str(error)

    threads = [threading.Thread(target=ask, args=("first",))]
    threads[0].start()
    assert fake.entered.wait(timeout=30)
    texts = ["a", "b", "boom", "c"]
    for text in texts:
        threads.append(threading.Thread(target=ask, args=(text,)))
        threads[-1].start()
    while batcher._queue.qsize() < len(texts):
        time.sleep(0.01)
    fake.release.set()
    for thread in threads:
        thread.join(timeout=30)
    batcher.close()
    assert fake.batches[0] == ["first"]
    assert sorted(fake.batches[1]) == ["a", "b", "boom", "c"]
    assert sorted(map(sorted, fake.batches[2:])) == [["a"], ["b"], ["boom"], ["c"]]
    assert results["a"] == results["b"] == results["c"] == []
    assert results["boom"] == "the model failed on this document: ValueError: boom"


def test_bounded_load_has_no_failed_requests(tiny_model_dir: Path, seed_rows: list[dict[str, Any]]) -> None:
    with local_server(tiny_model_dir, batch_size=32) as url:
        report = run_load(url, [r["text"] for r in seed_rows], clients=8, seconds=5)
    assert report.failures == 0, report.first_errors
    assert report.requests > 8 and report.p50_ms <= report.p99_ms <= report.max_ms


def test_a_client_that_hangs_up_mid_response_is_one_line_in_the_log(capsys) -> None:
    fake = _RecordingModel()
    fake.manifest = {}  # type: ignore[attr-defined]
    server = StorySplitServer(("127.0.0.1", 0), Batcher(fake, max_batch=8), MAX_BYTES)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = json.dumps({"text": "A story paragraph."}).encode()
        request = (
            b"POST /segment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sock = socket.create_connection(server.server_address[:2], timeout=30)
        sock.sendall(request)
        assert fake.entered.wait(timeout=30)  # the server has read the request and is labelling it
        # Close with a reset (linger 0), as a killed client does: the server's write then fails.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        fake.release.set()
        err = ""
        deadline = time.monotonic() + 30
        while "hung up" not in err and "Traceback" not in err and time.monotonic() < deadline:
            time.sleep(0.05)
            err += capsys.readouterr().err
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("storysplit serve: client 127.0.0.1:") and "hung up" in lines[0], err

"""The HTTP server: answers, the OpenAPI schema, every malformed request as a 4xx with a message,
batching, hang-ups and load."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from benchmarks.load_test import local_server, run_load
from storysplit import load_model
from storysplit.batcher import Batcher
from storysplit.cli import main as cli_main
from storysplit.features.context import FEATURE_VERSION
from storysplit.http_app import create_app
from storysplit.model import LabelledSegment, StorySplitModel
from storysplit.server import server_config

MAX_BYTES = 50_000
JSON = {"Content-Type": "application/json"}
Address = tuple[str, int]


@contextmanager
def running(app: FastAPI) -> Iterator[Address]:
    """`app` on uvicorn in a thread, on a free port of 127.0.0.1, with the CLI's settings."""
    config = server_config(app, "127.0.0.1", 0)
    sock = config.bind_socket()
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield sock.getsockname()[:2]
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def model(tiny_model_dir: Path) -> StorySplitModel:
    return load_model(tiny_model_dir)


@pytest.fixture(scope="module")
def server(model: StorySplitModel) -> Iterator[Address]:
    with running(create_app(model, MAX_BYTES, 32)) as address:
        yield address


def _request(
    server: Address,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] = JSON,
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(*server, timeout=30)
    try:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def _raw(server: Address, data: bytes) -> bytes:
    """Send bytes as they are (for requests http.client will not make); the reply until the server
    closes the connection (every error answer closes it) or 5 s pass."""
    with socket.create_connection(server, timeout=5) as sock:
        sock.sendall(data)
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except TimeoutError:
            pass
    return reply


def test_health_and_segment_agree_with_the_model(
    server: Address, model: StorySplitModel, seed_rows: list[dict[str, Any]], tiny_model_dir: Path
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
    assert "removed_text" not in strict


def test_the_openapi_schema_is_the_pydantic_models(server: Address) -> None:
    status, schema = _request(server, "GET", "/openapi.json")
    assert status == 200
    segment = schema["paths"]["/segment"]["post"]
    request_schema = segment["requestBody"]["content"]["application/json"]["schema"]
    assert request_schema == {"$ref": "#/components/schemas/SegmentRequest"}
    responses = segment["responses"]
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SegmentResponse")
    for status_code in ("400", "413", "415", "422"):
        assert responses[status_code]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorMessage"
        )
    request_fields = schema["components"]["schemas"]["SegmentRequest"]
    assert request_fields["required"] == ["text"] and request_fields["additionalProperties"] is False
    threshold = request_fields["properties"]["threshold"]["anyOf"][0]
    assert threshold["exclusiveMinimum"] == 0 and threshold["exclusiveMaximum"] == 1
    label = schema["components"]["schemas"]["SegmentLabel"]
    assert label["enum"] == ["main", "boilerplate"]
    assert "/health" in schema["paths"]
    connection = http.client.HTTPConnection(*server, timeout=30)
    connection.request("GET", "/docs")
    docs = connection.getresponse()
    assert docs.status == 200 and b"/openapi.json" in docs.read()
    connection.close()


def test_the_docs_page_loads_swagger_ui_from_this_server_only(server: Address) -> None:
    """The page works offline: every script, style sheet and icon it names is served by the app."""
    connection = http.client.HTTPConnection(*server, timeout=30)
    try:
        connection.request("GET", "/docs")
        page = connection.getresponse().read().decode("utf-8")
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page)
        urls_named = [first or second for first, second in urls]
        assert urls_named and all(url.startswith("/") and not url.startswith("//") for url in urls_named)
        assert "http://" not in page and "https://" not in page
        types = {}
        for url in urls_named:
            connection.request("GET", url)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200 and body, url
            types[url.rsplit(".", 1)[-1]] = response.getheader("content-type", "")
    finally:
        connection.close()
    assert "javascript" in types["js"] and types["css"].startswith("text/css")
    assert types["json"].startswith("application/json")  # the schema the page renders


MALFORMED_BODIES = [
    (b"{not json", 400, "not valid JSON"),
    (b'{"text": "caf\xe9"}', 400, "not valid UTF-8 at byte 13"),
    (b"[" * 100_000 + b"]" * 100_000, 413, "over the limit"),
    (b"[" * 20_000 + b"]" * 20_000, 400, "not usable JSON"),
    (b'{"text": ' + b"9" * 5000 + b"}", 400, "not usable JSON"),
    (b"", 422, "the body: Field required"),
    (b'["a list"]', 422, "the body: Input should be a valid dictionary"),
    (b'{"body": "x"}', 422, '"body": Extra inputs are not permitted'),
    (b"{}", 422, '"text": Field required'),
    (b'{"text": 42}', 422, '"text": Input should be a valid string, got 42'),
    (b'{"text": null}', 422, "got null"),
    (b'{"text": ""}', 422, '"text": document is empty'),
    (b'{"text": " \\n\\t "}', 422, "document is empty"),
    (b'{"text": "a\\u0000b"}', 422, "NUL"),
    (b'{"text": "\\ud800 lone"}', 422, "lone surrogate (U+D800)"),
    (b'{"text": "x", "threshold": 1.5}', 422, '"threshold": Input should be less than 1, got 1.5'),
    (b'{"text": "x", "threshold": 0}', 422, '"threshold": Input should be greater than 0'),
    (b'{"text": "x", "threshold": "0.5"}', 422, '"threshold": Input should be a valid number'),
    (b'{"text": "x", "threshold": true}', 422, '"threshold": Input should be a valid number'),
    (b'{"text": "x", "threshold": NaN}', 422, '"threshold": Input should be a finite number'),
    (b'{"text": "x", "keep_removed": "yes"}', 422, '"keep_removed": Input should be a valid boolean'),
    (b'{"text": "", "threshold": 2}', 422, 'document is empty; "threshold"'),
]


def _assert_error(reply: tuple[int, Any], status: int, message: str) -> None:
    got, body = reply
    assert got == status, body
    assert set(body) == {"error"} and message in body["error"], body


@pytest.mark.parametrize(("body", "status", "message"), MALFORMED_BODIES)
def test_malformed_body_is_a_4xx_with_a_message(
    server: Address, body: bytes, status: int, message: str
) -> None:
    _assert_error(_request(server, "POST", "/segment", body), status, message)
    assert _request(server, "GET", "/health")[0] == 200


@pytest.mark.slow
def test_malformed_requests_are_4xx_with_a_message(server: Address) -> None:
    body = b'{"text": "x"}'
    _assert_error(_request(server, "POST", "/segment", body, {}), 415, "expected Content-Type")
    _assert_error(
        _request(server, "POST", "/segment", body, {"Content-Type": "text/plain"}), 415, "text/plain"
    )
    latin = {"Content-Type": "application/json; charset=latin-1"}
    _assert_error(_request(server, "POST", "/segment", body, latin), 415, "latin-1")
    _assert_error(_request(server, "GET", "/nope"), 404, "no such endpoint: GET /nope")
    _assert_error(_request(server, "POST", "/nope", body), 404, "no such endpoint: POST /nope")
    _assert_error(_request(server, "PUT", "/segment", body), 405, "PUT is not allowed on /segment; use POST")
    _assert_error(_request(server, "DELETE", "/health"), 405, "DELETE is not allowed on /health; use GET")
    post = b"POST /segment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    too_large = _raw(server, post + f"Content-Length: {MAX_BYTES + 1}\r\n\r\n".encode())
    assert too_large.startswith(b"HTTP/1.1 413") and b"over the limit of 50,000" in too_large
    assert _raw(server, post + b"\r\n" + body).startswith(b"HTTP/1.1 411")
    chunked = _raw(server, post + b"Transfer-Encoding: chunked\r\n\r\nd\r\n" + body + b"\r\n0\r\n\r\n")
    assert chunked.startswith(b"HTTP/1.1 411")
    # uvicorn (h11) refuses these before the app sees them: a 400 with a plain-text message.
    assert _raw(server, post + b"Content-Length: -3\r\n\r\n").startswith(b"HTTP/1.1 400")
    garbage = _raw(server, b"\x00\xff GARBAGE\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.1 400") and b"Invalid HTTP request" in garbage
    # A body that never arrives whole holds only its connection; the server goes on answering.
    _raw(server, post + b"Content-Length: 99\r\n\r\n" + body)
    assert _request(server, "GET", "/health")[0] == 200


def test_a_refused_body_is_not_read_as_the_next_request(server: Address) -> None:
    connection = http.client.HTTPConnection(*server, timeout=30)
    smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    connection.request("POST", "/nope", smuggled, JSON)
    response = connection.getresponse()
    assert response.status == 404 and response.getheader("Connection") == "close"
    response.read()
    connection.close()


class _RecordingModel:
    """Stands in for the model: records each batch, can hold the first one, fails on "boom"."""

    threshold = 0.5
    manifest_sha256 = None

    def __init__(self) -> None:
        self.manifest: dict[str, Any] = {}
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def segment(self, text: str, threshold: float | None = None) -> list[LabelledSegment]:
        return []  # the server's warm-up call

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
    texts = ["a", "b", "boom", "c"]

    async def scenario() -> list[Any]:
        first = asyncio.ensure_future(batcher.segment("first", None))
        assert await asyncio.to_thread(fake.entered.wait, 30)
        rest = [asyncio.ensure_future(batcher.segment(text, None)) for text in texts]
        while batcher._queue.qsize() < len(texts):
            await asyncio.sleep(0.01)
        fake.release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    results = dict(zip(["first", *texts], asyncio.run(scenario()), strict=True))
    batcher.close()
    assert fake.batches[0] == ["first"]
    assert sorted(fake.batches[1]) == ["a", "b", "boom", "c"]
    assert sorted(map(sorted, fake.batches[2:])) == [["a"], ["b"], ["boom"], ["c"]]
    assert results["a"] == results["b"] == results["c"] == []
    assert isinstance(results["boom"], RuntimeError)
    assert str(results["boom"]) == "the model failed on this document: ValueError: boom"


def test_concurrent_http_requests_share_one_model_call() -> None:
    fake = _RecordingModel()
    app = create_app(fake, MAX_BYTES, 8)  # type: ignore[arg-type]
    with running(app) as address:
        replies: dict[str, tuple[int, Any]] = {}

        def ask(text: str) -> None:
            replies[text] = _request(address, "POST", "/segment", json.dumps({"text": text}).encode())

        first = threading.Thread(target=ask, args=("first",))
        first.start()
        assert fake.entered.wait(timeout=30)
        others = [threading.Thread(target=ask, args=(text,)) for text in ("a", "b", "boom")]
        for thread in others:
            thread.start()
        deadline = time.monotonic() + 30
        while app.state.batcher._queue.qsize() < len(others) and time.monotonic() < deadline:
            time.sleep(0.01)  # the three requests wait in the queue while the model is busy
        fake.release.set()
        for thread in [first, *others]:
            thread.join(timeout=30)
    assert fake.batches[0] == ["first"] and sorted(fake.batches[1]) == ["a", "b", "boom"]
    assert replies["a"] == replies["b"] == (200, {"main_text": "", "segments": []})
    assert replies["boom"] == (500, {"error": "the model failed on this document: ValueError: boom"})


@pytest.mark.slow
def test_bounded_load_has_no_failed_requests(tiny_model_dir: Path, seed_rows: list[dict[str, Any]]) -> None:
    with local_server(tiny_model_dir, batch_size=32) as url:
        report = run_load(url, [r["text"] for r in seed_rows], clients=8, seconds=5)
    assert report.failures == 0, report.first_errors
    assert report.requests > 8 and report.p50_ms <= report.p99_ms <= report.max_ms


def test_a_client_that_hangs_up_mid_response_is_one_line_in_the_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = _RecordingModel()
    with running(create_app(fake, MAX_BYTES, 8)) as address:  # type: ignore[arg-type]
        body = json.dumps({"text": "A story paragraph."}).encode()
        request = (
            b"POST /segment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sock = socket.create_connection(address, timeout=30)
        sock.sendall(request)
        assert fake.entered.wait(timeout=30)  # the server has read the request and is labelling it
        # Close with a reset (linger 0), as a killed client does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        time.sleep(0.2)  # the server sees the reset before the model answers
        fake.release.set()
        err = ""
        deadline = time.monotonic() + 30
        while "hung up" not in err and "Traceback" not in err and time.monotonic() < deadline:
            time.sleep(0.05)
            err += capsys.readouterr().err
        time.sleep(0.2)
        err += capsys.readouterr().err
    err += capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("storysplit serve: client 127.0.0.1:") and "hung up" in lines[0], err


def test_serve_without_the_web_stack_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    assert cli_main(["serve", "--model", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "storysplit serve: error: this command needs the serve extra: "
        "pip install 'storysplit[serve]' (missing module: uvicorn)\n"
    )


def test_serve_help_names_every_option_and_loads_no_web_stack() -> None:
    code = (
        "import contextlib, io, sys\nfrom storysplit.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n        main(['serve', '--help'])\n    except SystemExit:\n        pass\n"
        "print(out.getvalue())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    for option in ("--model", "--host", "--port", "--max-bytes", "--batch-size", "/openapi.json"):
        assert option in result.stdout
    assert result.stdout.splitlines()[-1] == "[]"

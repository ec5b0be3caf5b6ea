"""Load test for `storysplit serve`: N concurrent clients POST documents for T seconds.

    python benchmarks/load_test.py --clients 16 --seconds 60                 # starts its own server
    python benchmarks/load_test.py --url http://127.0.0.1:8080 --texts docs.jsonl

Each client holds one keep-alive connection and sends the next document as soon as the last
answer is in. A request fails on any status other than 200, a response without `main_text` and
`segments`, or a connection error. Prints (and with `--json` writes) requests, failures,
requests per second and latency percentiles. Without `--url` it starts `storysplit serve` on a
free port of 127.0.0.1 in a subprocess, so the clients do not share the server's interpreter.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO.parent / "shared" / "seeds"


@dataclass(frozen=True)
class LoadReport:
    """What a load run measured; latencies in milliseconds."""

    clients: int
    seconds: float
    requests: int
    failures: int
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    first_errors: tuple[str, ...]


def run_load(url: str, texts: Sequence[str], clients: int, seconds: float) -> LoadReport:
    """Drive `url`'s `/segment` with `clients` concurrent clients for `seconds`."""
    if not texts:
        raise ValueError("no documents to send")
    bodies = [json.dumps({"text": text}).encode("utf-8") for text in texts]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[list[str]] = [[] for _ in range(clients)]
    started = time.perf_counter()
    deadline = started + seconds
    threads = [
        threading.Thread(
            target=_client, args=(url, bodies, number, deadline, latencies[number], errors[number])
        )
        for number in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    times = np.array([t for client in latencies for t in client]) * 1000.0
    failures = sum(len(e) for e in errors)
    first_errors = tuple(dict.fromkeys(e for client in errors for e in client))[:5]
    percentile = (lambda q: float(np.percentile(times, q))) if times.size else (lambda q: float("nan"))
    return LoadReport(
        clients=clients,
        seconds=round(elapsed, 2),
        requests=int(times.size) + failures,
        failures=failures,
        requests_per_second=round((times.size + failures) / elapsed, 1),
        p50_ms=round(percentile(50), 1),
        p90_ms=round(percentile(90), 1),
        p99_ms=round(percentile(99), 1),
        max_ms=round(float(times.max()) if times.size else float("nan"), 1),
        first_errors=first_errors,
    )


def _client(
    url: str, bodies: list[bytes], number: int, deadline: float, latencies: list[float], errors: list[str]
) -> None:
    """One client: sends documents in turn (each client starts at another) until the deadline."""
    host, port = _address(url)
    connection: http.client.HTTPConnection | None = None
    sent = number
    while time.perf_counter() < deadline:
        body = bodies[sent % len(bodies)]
        sent += 1
        began = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=120)
            connection.request("POST", "/segment", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                errors.append(f"HTTP {response.status}: {payload[:200]!r}")
                continue
            record = json.loads(payload)
            if not {"main_text", "segments"} <= set(record):
                errors.append(f"response without main_text and segments: {payload[:200]!r}")
                continue
        except (OSError, http.client.HTTPException, ValueError) as error:
            errors.append(f"{type(error).__name__}: {error}")
            if connection is not None:
                connection.close()
            connection = None
            continue
        latencies.append(time.perf_counter() - began)
    if connection is not None:
        connection.close()


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"expected a URL like http://127.0.0.1:8080, got {url!r}")
    return parts.hostname, parts.port or 80


def read_texts(path: Path) -> list[str]:
    """Documents from a folder of .txt files or a JSONL file of {"text"} records."""
    if path.is_dir():
        return [p.read_text(encoding="utf-8") for p in sorted(path.glob("*.txt"))]
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


@contextmanager
def local_server(model: Path, batch_size: int) -> Iterator[str]:
    """`storysplit serve` on a free port of 127.0.0.1 in a subprocess; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "storysplit", "serve", "--model", str(model), "--port", str(port)]
    options = ["--batch-size", str(batch_size)]
    process = subprocess.Popen([*command, *options], cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, process, timeout=120)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for_health(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    host, port = _address(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} before answering")
        try:
            connection = http.client.HTTPConnection(host, port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /health within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one on a free local port)")
    parser.add_argument(
        "--model", type=Path, default=REPO / "models" / "default", help="for the local server"
    )
    parser.add_argument("--texts", type=Path, default=SEEDS, help="folder of .txt files or JSONL of {text}")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--batch-size", type=int, default=32, help="for the local server")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    texts = read_texts(args.texts)
    if args.url:
        report = run_load(args.url, texts, args.clients, args.seconds)
    else:
        with local_server(args.model, args.batch_size) as url:
            report = run_load(url, texts, args.clients, args.seconds)
    result = {
        **asdict(report),
        "documents": len(texts),
        "texts": str(args.texts),
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg()[0],
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())

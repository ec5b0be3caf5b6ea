"""`storysplit serve`: the model over HTTP (FastAPI on uvicorn), concurrent requests batched.

    POST /segment  {"text": str, "threshold"?: float, "keep_removed"?: bool}
                   -> 200 {"main_text": str, "removed_text"?: str,
                           "segments": [{"start", "end", "label", "probability"}]}
    GET  /health   -> 200 {"status": "ok", "model_manifest_sha256", "feature_version", "threshold"}
    GET  /openapi.json, /docs: the request and response schemas, and a page to try them

Every refusal is a 4xx `{"error": message}`: 400 body not UTF-8 JSON, 404, 405, 411 no
Content-Length, 413 body over --max-bytes, 415 not application/json, 422 a body that does not fit
the schema (empty text, NUL, lone surrogate, threshold outside (0, 1), unknown field).

Why not `mlflow models serve` on the logged pyfunc: that needs MLflow wherever text is cleaned,
runs one model call per request, and answers the main text alone. FastAPI and uvicorn come with
the `serve` extra (`pip install 'storysplit[serve]'`); only this command imports them, once its
options are parsed, so `--help` and every other command start without them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from storysplit.arguments import add_model_option
from storysplit.model import StorySplitModel, load_model, tune_gc_for_labelling

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

# Smaller than the batch CLI's 16 MiB: one model thread serves every client, and time grows faster
# than linearly with a document's segments, so one huge request would stall all the others.
DEFAULT_MAX_BYTES = 1 << 20
DEFAULT_BATCH = 32


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    create_app = _web_stack()
    model = load_model(args.model)
    tune_gc_for_labelling()
    app = create_app(model, args.max_bytes, args.batch_size)
    import uvicorn

    config = server_config(app, args.host, args.port)
    socket = config.bind_socket()
    host, port = socket.getsockname()[:2]
    print(f"storysplit serve: listening on http://{host}:{port} (API: /docs)", file=sys.stderr, flush=True)
    uvicorn.Server(config).run(sockets=[socket])
    return 0


def server_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    """uvicorn settings: no line per request (it would drown the errors that matter), warnings only."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, backlog=2048)


def _web_stack() -> Callable[[StorySplitModel, int, int], FastAPI]:
    """`create_app`, imported once the options are parsed: `--help` works without the serve extra.

    When FastAPI or uvicorn is missing, `storysplit.cli` turns the ModuleNotFoundError into one
    line naming the extra to install.
    """
    import uvicorn  # noqa: F401

    from storysplit.http_app import create_app

    return create_app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storysplit serve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_option(parser)
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default: 8080; 0: any free port)"
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        help=f"refuse request bodies larger than this, with a 413 (default: {DEFAULT_MAX_BYTES:,})",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH,
        help=f"most documents labelled in one model call (default: {DEFAULT_BATCH})",
    )
    return parser

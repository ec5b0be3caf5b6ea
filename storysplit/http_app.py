"""The HTTP API of `storysplit serve` as a FastAPI app: `POST /segment`, `GET /health`, OpenAPI.

The request and response bodies are the pydantic models of `storysplit.schemas`; FastAPI checks
requests against them and publishes them at `/openapi.json` (and an explorer at `/docs`, whose
Swagger UI files the app serves itself: it works offline).
Concurrent requests are labelled together by a `Batcher`; refusals are 4xx JSON messages
(`storysplit.http_errors`).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from storysplit.batcher import Batcher
from storysplit.bundled import package_version
from storysplit.http_errors import JSONBodyRoute, RequestLimits, add_error_handlers
from storysplit.model import StorySplitModel
from storysplit.output_records import document_record
from storysplit.schemas import ErrorMessage, Health, SegmentRequest, SegmentResponse

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage, "description": description}
    for status, description in {
        400: "the body is not UTF-8 JSON",
        411: "no Content-Length",
        413: "the body is over the server's --max-bytes",
        415: "not application/json",
        422: "the JSON does not fit SegmentRequest, or its text is empty, binary or not Unicode",
        500: "the model failed on this document",
    }.items()
}


def create_app(model: StorySplitModel, max_bytes: int, max_batch: int) -> FastAPI:
    """The API over `model`; bodies over `max_bytes` are refused, at most `max_batch` documents a call.

    The model labels one document first: its encoder loads on first use, which would otherwise
    make the first request much slower than the rest.
    """
    model.segment("Warm-up.")
    batcher = Batcher(model, max_batch)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        batcher.close()

    # FastAPIOffline: FastAPI whose /docs page loads Swagger UI from files of the fastapi-offline
    # package, served by this app; FastAPI's own page loads it from a CDN, so it is blank offline.
    app = FastAPIOffline(
        title="storysplit",
        summary="Keep the main story of a scraped page's plain text; drop menus, teasers and widgets.",
        version=package_version(),
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.batcher = batcher  # for whoever needs to look in (the tests do)
    app.router.route_class = JSONBodyRoute
    app.add_middleware(RequestLimits, max_bytes=max_bytes)
    add_error_handlers(app)

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        """The model being served, named by the SHA-256 of its manifest."""
        return Health(
            status="ok",
            model_manifest_sha256=model.manifest_sha256,
            feature_version=model.manifest.get("feature_version"),
            threshold=model.threshold,
        )

    @app.post(
        "/segment",
        response_model=SegmentResponse,
        response_model_exclude_none=True,
        responses=_ERRORS,
    )
    async def segment(body: SegmentRequest, request: Request) -> dict[str, Any]:
        """Label each segment of `text` main or boilerplate; answer the main text and the segments."""
        try:
            segments = await batcher.segment(body.text, body.threshold)
        except RuntimeError as error:
            raise HTTPException(500, str(error)) from None
        if await request.is_disconnected():
            host, port = request.client or ("?", 0)
            print(
                f"storysplit serve: client {host}:{port} hung up before the response was sent",
                file=sys.stderr,
                flush=True,
            )
        return document_record(body.text, segments, keep_removed=body.keep_removed)

    return app

"""Every request the server refuses gets a 4xx and a JSON `{"error": message}` that says why.

FastAPI's defaults answer some refusals with a bare 400 ("There was an error parsing the body")
or a 422 whose `detail` is a list of validation records; a client of a text cleaner should read
one sentence naming the field and the problem instead. Three layers do that:

- `RequestLimits` refuses a POST from its headers alone, before a byte of its body is read:
  415 not `application/json` (UTF-8), 411 no Content-Length (so no unbounded chunked body),
  413 over `--max-bytes`;
- `JSONBodyRoute` decodes the body itself, so unreadable bodies get a 400 with the reason
  (not UTF-8 at byte N, not JSON, a number or nesting Python refuses);
- `add_error_handlers` turns validation errors (422), unknown paths (404), wrong methods (405)
  and `HTTPException`s into `ErrorMessage` bodies.

Every error answer closes the connection: its body may be unread, and must not be taken for the
connection's next request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from storysplit.schemas import ErrorMessage


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON `{"error": message}` answer that closes the connection."""
    body = ErrorMessage(error=message).model_dump()
    return JSONResponse(body, status_code=status, headers={**(headers or {}), "Connection": "close"})


class RequestLimits:
    """ASGI middleware: refuse a POST by its headers, before its body is read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            refusal = self._refusal(Headers(scope=scope))
            if refusal is not None:
                await error_response(*refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, headers: Headers) -> tuple[int, str] | None:
        content_type = headers.get("content-type", "")
        media_type, _, parameters = content_type.partition(";")
        charset = parameters.strip().lower().removeprefix("charset=").strip('"') if parameters else "utf-8"
        if media_type.strip().lower() != "application/json" or charset != "utf-8":
            return 415, f"expected Content-Type: application/json (UTF-8), got {content_type or 'none'!r}"
        length = headers.get("content-length")
        if length is None:
            return 411, "a Content-Length header is required"
        if not length.isdigit():
            return 400, f"invalid Content-Length: {length!r}"
        if int(length) > self.max_bytes:
            return (
                413,
                f"body is {int(length):,} bytes, over the limit of {self.max_bytes:,} (server --max-bytes)",
            )
        return None


def decode_json_body(body: bytes) -> Any:
    """The JSON value of a request body, or an `HTTPException` (400) that says what is wrong with it."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise HTTPException(400, f"body is not valid UTF-8 at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise HTTPException(400, f"body is not valid JSON: {error}") from None
    except (ValueError, RecursionError) as error:  # a 5000-digit number, arrays nested too deep
        raise HTTPException(400, f"body is not usable JSON: {error}") from None


class _JSONBodyRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = decode_json_body(await self.body())
        return self._json


class JSONBodyRoute(APIRoute):
    """A route whose JSON body is decoded by `decode_json_body` (FastAPI re-raises its 400s as they are)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def decoding_handler(request: Request) -> Response:
            return await handler(_JSONBodyRequest(request.scope, request.receive))

        return decoding_handler


def validation_message(errors: Sequence[Any]) -> str:
    """One line for pydantic's errors: each field named, with its problem and the value sent."""
    parts = []
    for error in errors:
        loc = list(error["loc"])
        fields = [str(part) for part in (loc[1:] if loc[:1] == ["body"] else loc)]
        where = f'"{".".join(fields)}"' if fields else "the body"
        if error["type"] == "value_error":  # our own checks, whose message names the field already
            parts.append(str(error["ctx"]["error"]))
        elif error["type"] in ("missing", "extra_forbidden"):
            parts.append(f"{where}: {error['msg']}")
        else:
            parts.append(f"{where}: {error['msg']}, got {_short_json(error['input'])}")
    return "; ".join(parts)


def add_error_handlers(app: FastAPI) -> None:
    """Answer validation errors, unknown paths and wrong methods as `ErrorMessage` bodies."""

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return error_response(422, validation_message(error.errors()))

    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        where = f"{request.method} {request.url.path}"
        headers = dict(error.headers or {})
        if error.status_code == 404:
            return error_response(404, f"no such endpoint: {where}")
        if error.status_code == 405:
            allowed = headers.get("Allow", "")
            return error_response(
                405, f"{request.method} is not allowed on {request.url.path}; use {allowed}"
            )
        return error_response(error.status_code, str(error.detail), headers)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, refused)


def _short_json(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."

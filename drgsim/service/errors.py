"""Error answers: one JSON shape, never a stack trace (the limits are :mod:`.guard`'s)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger("drgsim.service")


def error_response(status: int, message: str, detail: list[dict[str, Any]] | None = None
                   ) -> Response:
    body: dict[str, Any] = {"error": message}
    if detail is not None:
        body["detail"] = detail
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def problems(errors: list[Any], prefix: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Pydantic errors as {field, problem[, input]}: the dotted field and what is wrong."""
    out = []
    for e in errors:
        loc = [p for p in (*prefix, *e.get("loc", ())) if p != "body" or prefix]
        item: dict[str, Any] = {
            "field": ".".join(str(p) for p in loc) or "(body)",
            "problem": str(e.get("msg", "invalid")).removeprefix("Value error, "),
        }
        value = e.get("input")
        # echo short scalar inputs only: never a whole case or a large body back
        if isinstance(value, int) and abs(value) >= 2**63:
            value = str(value)  # JSON encoders stop at 64-bit integers
        if isinstance(value, (int, float, bool)) or (isinstance(value, str) and len(value) <= 100):
            item["input"] = value
        out.append(item)
    return out


class BadRequest(Exception):
    """Malformed JSON (400) or an invalid body (422), raised by the routers' body readers."""

    def __init__(self, status: int, message: str, detail: list[dict[str, Any]] | None = None):
        self.status, self.message, self.detail = status, message, detail
        super().__init__(message)


def validation_failure(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> BadRequest:
    """400 when the body is not JSON at all, 422 when it is JSON of the wrong shape."""
    errors = exc.errors(include_url=False)
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequest(400, "malformed JSON: " + str(errors[0].get("msg", "")),
                          problems([e for e in errors if e.get("type") == "json_invalid"]))
    return BadRequest(422, "invalid request", problems(errors, prefix))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a JSON answer."""

    @app.exception_handler(BadRequest)
    async def _bad(request: Request, exc: BadRequest) -> Response:
        return error_response(exc.status, exc.message, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "malformed JSON")
        return error_response(422, "invalid request", problems(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # the trace goes to the server log only; the client learns nothing about internals
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error")

"""The service's front door, one ASGI middleware: API key, origin, body size, read timeout.

In order, before any route runs:

1. **Origin** (CORS): a request carrying an ``Origin`` header that is neither the service's own
   origin nor in ``cors_origins`` gets 403; an allowed origin gets the CORS headers, and its
   preflight (``OPTIONS``) is answered here. A browser's cross-origin ``text/plain`` POST is
   therefore refused, not answered.
2. **API key**: with ``api_key`` set, every path but ``/v1/health``, ``/docs`` and
   ``/openapi.json`` needs ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``, compared
   in constant time (:func:`hmac.compare_digest`); otherwise 401.
3. **Body**: ``Content-Length`` over ``max_body_bytes`` is 413 at once; streamed bodies are
   counted as they arrive and cut at the limit (413). A batch body is also scanned as it
   arrives for its ``"diagnoses":`` keys (every case has one), so a body holding more cases
   than ``batch_limit`` is refused (422, field ``cases``) before it is parsed at all.
4. **Read timeout**: a client that has not sent its whole body within ``read_timeout_s`` gets
   408 and the connection is closed (slow-client connections are not held open).

Every refusal is the service's JSON error shape (``{"error": ...}``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

OPEN_PATHS = frozenset(("/v1/health", "/docs", "/docs/oauth2-redirect", "/openapi.json"))
BATCH_PATH = "/v1/preview/batch"
_CASE_KEY = re.compile(rb'"diagnoses"\s*:')
_TAIL = 64  # bytes kept between chunks so a key split across two chunks is still counted


class Refused(Exception):
    """A request stopped at the door: HTTP status and message."""

    def __init__(self, status: int, message: str, detail: list[dict[str, Any]] | None = None
                 ) -> None:
        self.status, self.message, self.detail = status, message, detail
        super().__init__(message)

    def response(self) -> Any:
        return error_response(self.status, self.message, self.detail)


class Guard:
    """ASGI middleware applying the checks above (settings: :class:`ServiceSettings`)."""

    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self.app = app
        self.limit = settings.max_body_bytes
        self.batch_limit = settings.batch_limit
        self.timeout = settings.read_timeout_s
        self.key = (settings.api_key.get_secret_value().encode()
                    if settings.api_key is not None else None)
        self.origins = frozenset(o.encode() for o in settings.cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        origin = headers.get(b"origin")
        cors = False
        try:
            cors = self._origin(origin, headers, scope)
            if cors and scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
                await _send(send, _preflight(), origin)
                return
            self._authorise(scope["path"], headers)
            size = headers.get(b"content-length")
            if size is not None:
                if not size.isdigit():
                    raise Refused(400, "invalid Content-Length header")
                if int(size) > self.limit:
                    raise Refused(413, f"request body larger than {self.limit} bytes")
        except Refused as r:
            await _send(send, r.response(), origin if cors else None)
            return
        await self._guarded(scope, receive, send, origin if cors else None)

    def _origin(self, origin: bytes | None, headers: dict[bytes, bytes], scope: Scope) -> bool:
        """True when CORS headers are due; :class:`Refused` for a foreign origin."""
        if origin is None:
            return False
        if origin in self.origins:
            return True
        host = headers.get(b"host", b"")
        scheme = scope.get("scheme", "http").encode()
        if host and origin == scheme + b"://" + host:
            return False  # same origin (e.g. the /docs page): no CORS headers needed
        raise Refused(403, f"origin {origin.decode('latin-1')[:100]} is not allowed "
                      "(cors_origins lists the allowed ones)")

    def _authorise(self, path: str, headers: dict[bytes, bytes]) -> None:
        if self.key is None or path in OPEN_PATHS:
            return
        given = headers.get(b"x-api-key")
        auth = headers.get(b"authorization")
        if given is None and auth is not None and auth[:7].lower() == b"bearer ":
            given = auth[7:].strip()
        # compare_digest on equal-length digests: time does not depend on the key or on
        # how many leading characters the guess has right
        if given is None or not hmac.compare_digest(_digest(given), _digest(self.key)):
            raise Refused(401, "missing or wrong API key: send 'Authorization: Bearer <key>'")

    async def _guarded(self, scope: Scope, receive: Receive, send: Send,
                       cors: bytes | None) -> None:
        deadline = time.monotonic() + self.timeout
        count = scope["path"] == BATCH_PATH and scope["method"] == "POST"
        seen = cases = 0
        tail = b""
        done = False
        started = False

        async def guarded_receive() -> Message:
            nonlocal seen, cases, tail, done
            if done:  # body already read: later receives wait for the disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0))
            except TimeoutError:
                raise Refused(408, f"request body not received within {self.timeout:g} s"
                              ) from None
            if message["type"] != "http.request":
                return message
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                raise Refused(413, f"request body larger than {self.limit} bytes")
            if count and chunk:
                data = tail + chunk
                cases += sum(1 for m in _CASE_KEY.finditer(data) if m.end() > len(tail))
                tail = data[-_TAIL:]
                if cases > self.batch_limit:
                    raise Refused(422, "invalid request", [{
                        "field": "cases", "problem": f"at most {self.batch_limit} cases per "
                        f"request, got more (refused while reading the body)"}])
            done = not message.get("more_body", False)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if cors is not None:
                    message = {**message, "headers": [*message.get("headers", ()),
                                                      *_cors_headers(cors)]}
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracked_send)
        except Refused as r:
            if not started:
                await _send(send, r.response(), cors,
                            close=r.status == 408)


def _digest(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def _cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]


def _preflight() -> Any:
    from starlette.responses import Response

    r = Response(status_code=204)
    r.raw_headers.extend([
        (b"access-control-allow-methods", b"GET, POST"),
        (b"access-control-allow-headers", b"authorization, content-type, x-api-key"),
        (b"access-control-max-age", b"600")])
    return r


async def _send(send: Send, response: Any, cors: bytes | None = None, close: bool = False
                ) -> None:
    headers = list(response.raw_headers)
    if cors is not None:
        headers += _cors_headers(cors)
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": headers})
    await send({"type": "http.response.body", "body": response.body})

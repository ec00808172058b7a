"""How ``drgsim serve`` runs uvicorn: its options, and an HTTP protocol that times out request
heads.

uvicorn closes an idle keep-alive connection only after it has answered a request on it: a client
that connects and sends nothing, or trickles its request line and headers, is held open for ever
(the issue's 300 slow connections, all still open after 20 s). :class:`HeadTimeoutProtocol` closes
a connection that has not sent a whole request head within ``read_timeout_s`` of connecting or of
its last response; the body then has its own deadline (:mod:`.guard`, 408).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .settings import ServiceSettings


class HeadTimeoutProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol (httptools or h11) with a deadline on each request head."""

    #: seconds; :func:`configure` sets it from the settings (``drgsim serve``, and each worker
    #: of a multi-worker server when it imports :mod:`drgsim.service.asgi`)
    head_timeout: float = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_request():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's head has the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _in_request(self) -> bool:
        """A request head has been read and its response is not complete."""
        return self.cycle is not None and not self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout, self._expire)

    def _disarm(self) -> None:
        if getattr(self, "_head_timer", None) is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _expire(self) -> None:
        self._head_timer = None
        if not self._in_request() and not self.transport.is_closing():
            self.transport.close()


def configure(settings: ServiceSettings) -> None:
    """Give :class:`HeadTimeoutProtocol` the settings' read timeout (in this process)."""
    HeadTimeoutProtocol.head_timeout = settings.read_timeout_s


def uvicorn_options(settings: ServiceSettings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` for ``settings`` (after :func:`configure`)."""
    configure(settings)
    return {"host": settings.host, "port": settings.port, "log_level": "warning",
            "http": HeadTimeoutProtocol,
            "timeout_keep_alive": max(1, math.ceil(settings.keepalive_timeout_s))}


__all__ = ["HeadTimeoutProtocol", "configure", "uvicorn_options"]

"""How the service listens: uvicorn, with each request's headers read under a deadline.

uvicorn bounds the idle time between requests on a kept-alive connection (`timeout_keep_alive`) but
not the time a client takes to send a request's headers: a client that connects and sends nothing,
or trickles its request line a byte at a time, holds a connection (and a file descriptor) for ever.
The protocol classes here start a timer when a connection opens and when the first byte of each
further request arrives, and stop it once the headers are complete; when it fires the client gets
408 (`request_timeout`, the body timeout's shape) and the connection is closed. An idle kept-alive
connection is still uvicorn's to close. `mockinterview serve` and the tests start uvicorn through
`uvicorn_config` so that both run these classes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import Callable
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.config import Settings
from app.errors import error_body

__all__ = ["H11HeaderTimeout", "http_protocol", "uvicorn_config"]


class _Deadline:
    """One connection's timer for the headers of the request it is reading."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float, expire: Callable[[], None]) -> None:
        self._loop, self._seconds, self._expire = loop, seconds, expire
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Start the timer unless it is running (a request's later bytes do not restart it)."""
        if self._handle is None and self._seconds > 0:
            self._handle = self._loop.call_later(self._seconds, self._fire)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._expire()


def _timeout_response(seconds: float, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    body = json.dumps(
        error_body(
            "request_timeout",
            f"the request headers did not arrive within {seconds:g} s (MOCKINTERVIEW_HEADER_TIMEOUT_S)",
        )
    ).encode()
    headers = [
        *default_headers,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    head = b"HTTP/1.1 408 Request Timeout\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    return head + b"\r\n" + body


def _expire(protocol: Any, seconds: float) -> None:
    """The headers are late: 408 and close, or, while an earlier (pipelined) request's response is
    still being written, close the connection once that response is done."""
    transport: asyncio.Transport = protocol.transport
    if transport.is_closing():
        return
    cycle = protocol.cycle
    if cycle is not None and not cycle.response_complete:
        cycle.keep_alive = False
        return
    transport.write(_timeout_response(seconds, protocol.server_state.default_headers))
    transport.close()


class H11HeaderTimeout(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's headers."""

    header_timeout_s: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = _Deadline(
            self.loop, self.header_timeout_s, lambda: _expire(self, self.header_timeout_s)
        )

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline.start()  # the first request: from the moment the client connects

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.stop()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data and self.conn.their_state is h11.IDLE:
            self._deadline.start()  # the first byte of a further request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the headers are in (or the request was refused)
            self._deadline.stop()


def _httptools_class() -> type[asyncio.Protocol] | None:
    if importlib.util.find_spec("httptools") is None:
        return None
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HttpToolsHeaderTimeout(HttpToolsProtocol):
        """uvicorn's httptools protocol (its default when httptools is installed) with a deadline on
        each request's headers."""

        header_timeout_s: ClassVar[float] = 10.0

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._deadline = _Deadline(
                self.loop, self.header_timeout_s, lambda: _expire(self, self.header_timeout_s)
            )

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._deadline.start()

        def connection_lost(self, exc: Exception | None) -> None:
            self._deadline.stop()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:  # the parser saw the first byte of a request
            super().on_message_begin()
            self._deadline.start()

        def on_headers_complete(self) -> None:
            self._deadline.stop()
            super().on_headers_complete()

    return HttpToolsHeaderTimeout


def http_protocol(settings: Settings, *, implementation: str = "auto") -> type[asyncio.Protocol]:
    """The protocol class uvicorn serves with: httptools when installed (as uvicorn's "auto"
    picks), else h11, with `settings.header_timeout_s` on each request's headers."""
    base: type[asyncio.Protocol] | None = None
    if implementation in ("auto", "httptools"):
        base = _httptools_class()
        if base is None and implementation == "httptools":
            raise RuntimeError("httptools is not installed")
    if base is None:
        base = H11HeaderTimeout
    return type(base.__name__, (base,), {"header_timeout_s": settings.header_timeout_s})


def uvicorn_config(
    app: Any, *, settings: Settings, host: str, port: int, log_level: str = "info", **options: Any
) -> uvicorn.Config:
    """The one way this service is served: `mockinterview serve` and the tests start uvicorn with this."""
    options.setdefault("http", http_protocol(settings))
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, **options)

"""The Runtime API's transport: HTTP/1.1 on one keep-alive connection from a runtime.

It knows framing, not the API: h11 parses each request into a head, body data and the
chunked trailers (``EndOfMessage.headers``, where a streaming runtime reports an error after
the first byte; Python's HTTP servers drop them), and hands them to the ``Exchange`` that a
router picked for the request's head. Requests are handled in order; an exchange may answer
at once or later (the long-poll ``next``), and the next request is parsed only once it has.

An ``asyncio.Protocol`` rather than a web framework, and answers written by hand, because
its cost per request caps every benchmark of a runtime client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Protocol

import h11

_REASONS = {
    200: b"OK",
    202: b"Accepted",
    400: b"Bad Request",
    404: b"Not Found",
    413: b"Payload Too Large",
    431: b"Request Header Fields Too Large",
}
_JSON_HEAD = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


class Exchange(Protocol):
    """One request on a connection, from its head (already seen) to its answer."""

    def on_data(self, data: bytearray) -> None: ...

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        """The request is complete: answer now (``respond``/``send``) or later."""
        ...

    def on_lost(self) -> None:
        """The connection closed before or after this request ended."""
        ...


Router = Callable[["RuntimeConnection", h11.Request], Exchange]


class RuntimeConnection(asyncio.Protocol):
    """One keep-alive connection from the runtime."""

    def __init__(self, router: Router, on_close: Callable[[RuntimeConnection], None]) -> None:
        self._router = router
        self._on_close = on_close
        self._parser = h11.Connection(h11.SERVER)
        self._transport: asyncio.Transport | None = None
        self._exchange: Exchange | None = None
        self._waiting = False  # the current request is complete, its answer owed
        self._processing = False
        self.alive = True

    @property
    def transport(self) -> asyncio.Transport:
        assert self._transport is not None, "not connected"
        return self._transport

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._parser.receive_data(data)
        self._process()

    def eof_received(self) -> bool | None:
        self._parser.receive_data(b"")
        self._process()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        self._on_close(self)
        exchange, self._exchange = self._exchange, None
        if exchange is not None:
            exchange.on_lost()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # answers

    def respond(self, status: int, body: bytes) -> None:
        """A JSON answer with its status; ends the current request."""
        self.send(_JSON_HEAD % (status, _REASONS.get(status, b""), len(body)), body)

    def send(self, head: bytes, body: bytes) -> None:
        """Writes one whole answer, then readies the parser for the next request."""
        transport = self._transport
        if transport is None or not self.alive:
            return
        self._waiting = False
        if len(body) < 65536:
            transport.write(head + body)
        else:
            transport.write(head)
            transport.write(body)
        if self._parser.their_state is not h11.DONE:  # Connection: close, HTTP/1.0
            self.close()
            return
        # A fresh parser per request: h11 requires our side of the cycle to go through it
        # too, and building a Connection (about 1 µs) is cheaper than that.
        leftover, closed = self._parser.trailing_data
        self._parser = h11.Connection(h11.SERVER)
        if leftover:
            self._parser.receive_data(leftover)
        if closed:
            self._parser.receive_data(b"")
        if not self._processing:
            # A deferred answer (long-poll): pick up what the runtime sent meanwhile.
            self._process()

    # parsing

    def _process(self) -> None:
        self._processing = True
        try:
            self._next_events()
        finally:
            self._processing = False

    def _next_events(self) -> None:
        while self.alive and not self._waiting:
            try:
                event = self._parser.next_event()
            except h11.RemoteProtocolError as exc:
                self._fail_protocol(exc)
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            kind = type(event)
            if kind is h11.Data:
                assert self._exchange is not None
                self._exchange.on_data(event.data)  # type: ignore[union-attr]
            elif kind is h11.Request:
                if self._parser.client_is_waiting_for_100_continue:
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self._exchange = self._router(self, event)  # type: ignore[arg-type]
            elif kind is h11.EndOfMessage:
                assert self._exchange is not None
                self._waiting = True  # until the exchange answers, now or later
                self._exchange.on_end(event.headers)  # type: ignore[union-attr]
            elif kind is h11.ConnectionClosed:
                self.close()
                return

    def _fail_protocol(self, exc: h11.RemoteProtocolError) -> None:
        body = json.dumps({"errorMessage": str(exc), "errorType": "InvalidRequest"}).encode()
        status = exc.error_status_hint
        if self._transport is not None and self.alive:
            self._transport.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s"
                % (status, _REASONS.get(status, b""), len(body), body)
            )
        self.close()

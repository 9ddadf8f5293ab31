"""``asgi_handler(app)``: an ASGI 3 app as a streaming Lambda handler.

The handler is an ``async`` ``@streamify_response`` handler, so the runtime runs it on its one
persistent event loop: the app's lifespan task, its clients and its background work survive
from one invocation to the next, as they would in a long-running server.
"""

from __future__ import annotations

import asyncio
import logging

from lambda_streaming.asgi.lifespan import Lifespan
from lambda_streaming.asgi.response import ResponseWriter
from lambda_streaming.asgi.scope import http_scope
from lambda_streaming.http.front import request_from_event
from lambda_streaming.runtime.handler import streamify_response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambda_streaming.runtime.stream import ResponseStream

log = logging.getLogger("lambda_streaming.asgi")
# http.disconnect reaches the app this long before the function's deadline, so a stream that
# would run on (an SSE feed, a slow generator) can stop and end its response cleanly.
DEFAULT_DISCONNECT_MARGIN_MS = 500
SHUTDOWN_GRACE_S = 0.5


def asgi_handler(
    app: Callable[..., Any],
    *,
    lifespan: str = "auto",
    disconnect_margin_ms: int = DEFAULT_DISCONNECT_MARGIN_MS,
) -> Callable[..., Any]:
    """Return a Lambda handler serving ``app`` for Function URL and REST API events.

    ``lifespan``: "auto" runs the app's startup before the first request and goes on without
    it if the app raises on the lifespan scope (no support); "on" takes that as a failure too;
    "off" never sends lifespan events. A reported startup failure fails the request and is
    retried on the next one. Works in RESPONSE_STREAM and BUFFERED invoke modes.
    """
    bridge = _Bridge(app, Lifespan(app, lifespan), disconnect_margin_ms / 1000)

    @streamify_response
    async def handler(event: Any, response_stream: ResponseStream, context: Any) -> None:
        await bridge.serve(event, response_stream, context)

    handler.app = app  # type: ignore[attr-defined]  # for tests and introspection
    return handler


class _Bridge:
    def __init__(self, app: Callable[..., Any], lifespan: Lifespan, margin_s: float) -> None:
        self._app = app
        self._lifespan = lifespan
        self._margin_s = margin_s
        self._stop_requested = False
        self._signal_installed = False

    async def serve(self, event: Any, stream: ResponseStream, context: Any) -> None:
        lifespan = self._lifespan
        if not lifespan.started and lifespan.supported:
            await lifespan.startup()
            if lifespan.started:
                self._install_sigterm()
        request = request_from_event(event)
        scope = http_scope(request)
        if lifespan.started:
            scope["state"] = dict(lifespan.state)  # a shallow copy per request, as the spec says
        scope["aws.event"] = event
        scope["aws.context"] = context
        writer = ResponseWriter(stream, request.front, head_only=request.method == "HEAD")
        exchange = _Exchange(request.body, writer, context, self._margin_s)
        try:
            await self._app(scope, exchange.receive, exchange.send)
        except Exception:
            if stream.started or exchange.writer.complete:
                raise  # bytes left already: the runtime ends the stream with error trailers
            log.exception("Exception in ASGI application")
            exchange.writer.error_response()
        else:
            if not exchange.writer.started:
                log.error("ASGI callable returned without starting response")
                exchange.writer.error_response()
            elif not exchange.writer.complete:
                if not exchange.deadline_reached:
                    raise RuntimeError("ASGI callable returned without completing the response")
                # Told the client was gone, the app stopped (Starlette cancels its stream):
                # what was sent stands, and the body ends cleanly before Lambda's timeout.
                log.warning("Response cut short: the function's deadline was near")
                stream.end()
        finally:
            exchange.close()
        if self._stop_requested:  # SIGTERM came while this request ran
            await self._stop()

    def _install_sigterm(self) -> None:
        """Run lifespan shutdown on SIGTERM, then die of it as the default action would."""
        import signal
        import threading

        if self._signal_installed or threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        loop = asyncio.get_running_loop()

        def on_sigterm(signum: int, frame: Any) -> None:
            if loop.is_running():
                self._stop_requested = True  # finish the request first; see serve()
                return
            loop.run_until_complete(self._stop(previous, signum, frame))

        signal.signal(signal.SIGTERM, on_sigterm)
        self._signal_installed = True
        self._previous = previous

    async def _stop(self, previous: Any = None, signum: int = 15, frame: Any = None) -> None:
        import os
        import signal

        previous = previous if previous is not None else self._previous
        try:
            # Lambda gives the runtime 300 ms after SIGTERM (500 ms with an internal
            # extension) before SIGKILL; a slower shutdown is cut off, and we exit anyway.
            await asyncio.wait_for(self._lifespan.shutdown(), SHUTDOWN_GRACE_S)
        except Exception:
            log.exception("ASGI lifespan shutdown did not finish")
        if callable(previous):
            previous(signum, frame)
            return
        if previous == signal.SIG_IGN:
            return
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


class _Exchange:
    """One request's ``receive`` and ``send`` callables.

    The disconnect event and the deadline timer are made only when the app first waits for
    a message after the body: most responses (JSON, HTML) never do, and pay nothing for them.
    """

    def __init__(self, body: bytes, writer: ResponseWriter, context: Any, margin_s: float) -> None:
        self._body: bytes | None = body
        self.writer = writer
        self._context = context
        self._margin_s = margin_s
        self._disconnected: asyncio.Event | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.deadline_reached = False

    def _disconnect_event(self) -> asyncio.Event:
        event = self._disconnected
        if event is None:
            event = self._disconnected = asyncio.Event()
            remaining = getattr(self._context, "get_remaining_time_in_millis", None)
            if self._closed or self.writer.complete:
                event.set()
            elif remaining is not None:
                delay = max(remaining() / 1000 - self._margin_s, 0.0)
                self._timer = asyncio.get_running_loop().call_later(delay, self._deadline)
        return event

    def _deadline(self) -> None:
        if not self.writer.complete:
            self.deadline_reached = True
            self._disconnect()

    def _disconnect(self) -> None:
        if self._disconnected is not None:
            self._disconnected.set()

    async def receive(self) -> dict[str, Any]:
        body = self._body
        if body is not None:
            self._body = None
            return {"type": "http.request", "body": body, "more_body": False}
        await self._disconnect_event().wait()  # response complete, or the deadline is near
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "http.response.body":
            try:
                self.writer.body(message)
            except OSError:
                self._closed = True
                self._disconnect()  # the platform's connection broke: the client is gone
                raise
            if self.writer.complete:
                self._disconnect()
        elif kind == "http.response.start":
            self.writer.start(message)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} for an http scope")

    def close(self) -> None:
        self._closed = True
        self._disconnect()
        if self._timer is not None:
            self._timer.cancel()

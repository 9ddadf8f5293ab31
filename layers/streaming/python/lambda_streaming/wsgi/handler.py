"""``wsgi_handler(app)``: a WSGI (PEP 3333) app as a streaming Lambda handler.

The app runs on the runtime's thread, as under a sync server worker; its body iterable is pulled
here, one item at a time, and each item goes to the client as it comes. Because the pulling is
ours, the handler can stop near the function's deadline: between two items it checks the time
left, and with less than ``deadline_margin_ms`` it stops, calls ``close()`` and ends the response
cleanly. What it cannot do is interrupt an item being produced: a ``next()`` that blocks past the
deadline is ended by Lambda's timeout (the client sees the response cut short).
"""

from __future__ import annotations

import time

from lambda_streaming.http.front import request_from_event
from lambda_streaming.runtime.handler import streamify_response
from lambda_streaming.wsgi.environ import build_environ
from lambda_streaming.wsgi.response import WsgiResponse

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from logging import Logger
    from typing import Any
    from wsgiref.types import WSGIApplication

    from lambda_streaming.runtime.stream import ResponseStream

# Stop pulling the body this long before the deadline, so the end of the response (and the
# runtime's report) are on the wire before Lambda stops the function.
DEFAULT_DEADLINE_MARGIN_MS = 500
_NO_DEADLINE = float("inf")


def wsgi_handler(
    app: WSGIApplication, *, deadline_margin_ms: int = DEFAULT_DEADLINE_MARGIN_MS
) -> Callable[[Any, ResponseStream, Any], None]:
    """Return a Lambda handler serving ``app`` for Function URL and REST API events.

    Works in RESPONSE_STREAM and BUFFERED invoke modes (the runtime collects the stream whole
    in BUFFERED mode). ``deadline_margin_ms``: how long before the function's deadline the body
    stops being pulled; make it longer than the longest pause between two body items.
    """
    if not callable(app):
        raise TypeError(f"wsgi_handler() takes a WSGI app (a callable), not {app!r}")
    margin_s = deadline_margin_ms / 1000

    @streamify_response
    def handler(event: Any, response_stream: ResponseStream, context: Any) -> None:
        serve(app, event, response_stream, context, margin_s)

    handler.app = app  # type: ignore[attr-defined]  # for tests and introspection
    return handler


def serve(
    app: WSGIApplication, event: Any, stream: ResponseStream, context: Any, margin_s: float
) -> None:
    """One request through ``app``: environ in, head and body out, ``close()`` always called.

    A failure before the head went out is a plain 500 with the traceback in the log, as
    gunicorn answers; after it, the exception goes on to the runtime, which ends the stream
    with the error trailers. An event that is not an HTTP request is the invocation's error.
    """
    request = request_from_event(event)
    response = WsgiResponse(stream, request.front, head_only=request.method == "HEAD")
    environ = build_environ(request, context)
    deadline = _deadline(context, margin_s)
    try:
        body = app(environ, response.start_response)
        try:
            if _send_body(body, response, deadline):
                _cut_short(response, environ)
            else:
                response.finish()
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    except Exception:
        if response.started:
            raise  # bytes left already: the runtime ends the stream with error trailers
        _log().exception("Error handling request %s %s", request.method, environ["RAW_URI"])
        response.error(500, "Internal Server Error")


def _send_body(body: Iterable[bytes], response: WsgiResponse, deadline: float) -> bool:
    """Write each item as it comes; True if the deadline stopped it before the end."""
    item = response.item
    clock = time.monotonic
    for data in body:
        if item(data):
            return False  # a body that must not be sent (HEAD): no need to make the rest
        if clock() >= deadline:
            return True
    return False


def _cut_short(response: WsgiResponse, environ: dict[str, Any]) -> None:
    """The deadline is near: what was sent stands and the body ends cleanly; with nothing sent
    yet, a 504, as a gateway answers an upstream that did not answer in time."""
    where = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']}"
    if response.started:
        _log().warning("Response to %s cut short: the function's deadline was near", where)
        response.finish()
    else:
        _log().warning("No response to %s before the function's deadline: 504", where)
        response.error(504, "Gateway Timeout")


def _deadline(context: Any, margin_s: float) -> float:
    """When to stop pulling the body, on the ``time.monotonic`` clock."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return _NO_DEADLINE
    return time.monotonic() + int(remaining()) / 1000 - margin_s


def _log() -> Logger:
    """Imported on first use: a function that never fails never pays for ``logging``."""
    import logging

    return logging.getLogger("lambda_streaming.wsgi")

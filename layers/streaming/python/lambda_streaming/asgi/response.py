"""ASGI ``http.response.*`` messages -> the HTTP prelude and body on a response stream.

``http.response.start`` becomes the prelude the request's front writes (``response_head``:
headers checked, every ``Set-Cookie`` kept); it leaves with the first body message, as the ASGI
spec asks. Each ``http.response.body`` is written at once; ``write`` blocks while the client
reads slowly, which is the back-pressure an ASGI server gives by making ``send`` wait.
"""

from __future__ import annotations

from lambda_streaming.http.prelude import HttpPrelude

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambda_streaming.http.request import Front
    from lambda_streaming.runtime.stream import ResponseStream


class ResponseWriter:
    """The ``send`` side of one request: checks message order, writes to the stream.

    ``head_only``: a HEAD request, whose response has no body (RFC 9110 section 9.3.2): the
    app's body bytes are dropped, as uvicorn drops them.
    """

    def __init__(self, stream: ResponseStream, front: Front, head_only: bool = False) -> None:
        self._stream = stream
        self._front = front
        self._head_only = head_only
        self.started = False  # http.response.start received
        self.complete = False  # the last body message was sent and the stream ended

    def start(self, message: dict[str, Any]) -> None:
        if self.started:
            raise RuntimeError("ASGI app sent http.response.start twice")
        metadata = self._front.response_head(message.get("status"), message.get("headers") or ())
        self._stream.set_prelude(HttpPrelude(metadata))  # checked by response_head
        self.started = True

    def body(self, message: dict[str, Any]) -> None:
        if not self.started:
            raise RuntimeError("ASGI app sent http.response.body before http.response.start")
        if self.complete:
            raise RuntimeError("ASGI app sent http.response.body after the response completed")
        data = message.get("body", b"")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"http.response.body body must be bytes, got {type(data).__name__}")
        if self._head_only:
            data = b""
        stream = self._stream
        if not message.get("more_body", False):
            self.complete = True
            stream.end(data)  # last bytes, the end (and the prelude if first) in one write
        elif data or not stream.started:
            stream.write(data)  # the first one also sends the prelude, even with no data

    def error_response(self) -> None:
        """A plain 500, as ASGI servers answer an app that failed before its first byte."""
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        self._stream.set_prelude(HttpPrelude(self._front.response_head(500, headers)))
        self.started = self.complete = True
        self._stream.end(b"" if self._head_only else b"Internal Server Error")

"""ASGI ``http.response.*`` messages -> the HTTP prelude and body on a response stream.

``http.response.start`` becomes the prelude (status, headers, every ``Set-Cookie`` as a
``cookies`` entry for payload 2.0 or under ``multiValueHeaders`` for REST's 1.0); it leaves
with the first body message, as the ASGI spec asks. Each ``http.response.body`` is written at
once; ``write`` blocks while the client reads slowly, which is the back-pressure an ASGI
server gives by making ``send`` wait.
"""

from __future__ import annotations

from lambda_streaming.http.stream import HttpResponseStream

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from lambda_streaming.runtime.stream import ResponseStream

# Framing is the front's job (Function URL, API Gateway): the app's own would contradict it,
# e.g. a HEAD response's Content-Length with no body.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def response_metadata(status: Any, headers: Iterable[Any], rest: bool) -> dict[str, Any]:
    """The prelude for an ``http.response.start``; a bad status or header raises here."""
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"http.response.start status must be an int 100-599, got {status!r}")
    values: dict[str, list[str]] = {}
    names: dict[str, str] = {}  # lower-case name -> the spelling first used
    cookies: list[str] = []
    for pair in headers:
        name, value = _text(pair[0]), _text(pair[1])
        if not name or not _TOKEN.issuperset(name):
            raise ValueError(f"response header name {name!r} is not an HTTP token")
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"response header {name!r} contains CR, LF or NUL")
        key = name.lower()
        if key == "set-cookie":
            cookies.append(value)
        elif key not in _FRAMING:
            names.setdefault(key, name)
            values.setdefault(key, []).append(value)
    metadata: dict[str, Any] = {"statusCode": status}
    if rest:
        single = {names[k]: v[0] for k, v in values.items() if len(v) == 1}
        multi = {names[k]: v for k, v in values.items() if len(v) > 1}
        if cookies:
            multi["Set-Cookie"] = cookies
        metadata["headers"] = single
        if multi:
            metadata["multiValueHeaders"] = multi
    else:  # Function URLs take one value per name: repeats are joined, as HTTP allows
        metadata["headers"] = {names[k]: ", ".join(v) for k, v in values.items()}
        if cookies:
            metadata["cookies"] = cookies
    return metadata


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, str):  # not allowed by the spec, but some middleware does it
        return value
    raise TypeError(f"ASGI header names and values must be bytes, got {type(value).__name__}")


class ResponseWriter:
    """The ``send`` side of one request: checks message order, writes to the stream."""

    def __init__(self, stream: ResponseStream, rest: bool) -> None:
        self._stream = stream
        self._rest = rest
        self.started = False  # http.response.start received
        self.complete = False  # the last body message was sent and the stream ended

    def start(self, message: dict[str, Any]) -> None:
        if self.started:
            raise RuntimeError("ASGI app sent http.response.start twice")
        headers = message.get("headers") or ()
        metadata = response_metadata(message.get("status"), headers, self._rest)
        HttpResponseStream.from_(self._stream, metadata)
        self.started = True

    def body(self, message: dict[str, Any]) -> None:
        if not self.started:
            raise RuntimeError("ASGI app sent http.response.body before http.response.start")
        if self.complete:
            raise RuntimeError("ASGI app sent http.response.body after the response completed")
        data = message.get("body", b"")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"http.response.body body must be bytes, got {type(data).__name__}")
        stream = self._stream
        if not message.get("more_body", False):
            self.complete = True
            stream.end(data)  # last bytes, the end (and the prelude if first) in one write
        elif data or not stream.started:
            stream.write(data)  # the first one also sends the prelude, even with no data

    def error_response(self) -> None:
        """A plain 500, as ASGI servers answer an app that failed before its first byte."""
        body = b"Internal Server Error"
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        HttpResponseStream.from_(self._stream, response_metadata(500, headers, self._rest))
        self.started = self.complete = True
        self._stream.end(body)

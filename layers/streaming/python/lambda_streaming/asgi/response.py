"""ASGI ``http.response.*`` messages -> the HTTP prelude and body on a response stream.

``http.response.start`` becomes the prelude (status, headers, every ``Set-Cookie`` as a
``cookies`` entry for payload 2.0 or under ``multiValueHeaders`` for REST's 1.0); it leaves
with the first body message, as the ASGI spec asks. Each ``http.response.body`` is written at
once; ``write`` blocks while the client reads slowly, which is the back-pressure an ASGI
server gives by making ``send`` wait.
"""

from __future__ import annotations

from lambda_streaming.http.stream import use_checked_metadata

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
    """The prelude for an ``http.response.start``; a bad status or header raises here.

    Every name is checked as an HTTP token and every value for CR, LF and NUL here, the rules
    ``http_metadata`` applies, so the result goes to the stream without a second pass.
    """
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"http.response.start status must be an int 100-599, got {status!r}")
    single: dict[str, str] = {}  # the spelling first used -> its first value
    spelling: dict[str, str] = {}  # lower-case name -> the spelling first used
    repeated: dict[str, list[str]] | None = None  # spelling -> every value, for repeated names
    cookies: list[str] = []
    for pair in headers:
        name, value = pair[0], pair[1]
        # bytes is what the spec allows and what frameworks send: decoded inline, no call
        name = name.decode("latin-1") if type(name) is bytes else _text(name)
        value = value.decode("latin-1") if type(value) is bytes else _text(value)
        if not name or not _TOKEN.issuperset(name):
            raise ValueError(f"response header name {name!r} is not an HTTP token")
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"response header {name!r} contains CR, LF or NUL")
        key = name.lower()
        if key == "set-cookie":
            cookies.append(value)
        elif key not in _FRAMING:
            first = spelling.get(key)
            if first is None:
                spelling[key] = name
                single[name] = value
            elif repeated is None:
                repeated = {first: [single[first], value]}
            elif first in repeated:
                repeated[first].append(value)
            else:
                repeated[first] = [single[first], value]
    metadata: dict[str, Any] = {"statusCode": status}
    if rest:
        multi: dict[str, list[str]] = {}
        if repeated:  # in the order the names first appeared, as in the headers
            multi = {name: repeated[name] for name in single if name in repeated}
            single = {name: value for name, value in single.items() if name not in repeated}
        if cookies:
            multi["Set-Cookie"] = cookies
        metadata["headers"] = single
        if multi:
            metadata["multiValueHeaders"] = multi
    else:  # Function URLs take one value per name: repeats are joined, as HTTP allows
        if repeated:
            for name, values in repeated.items():
                single[name] = ", ".join(values)
        metadata["headers"] = single
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
        use_checked_metadata(self._stream, metadata)
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
        use_checked_metadata(self._stream, response_metadata(500, headers, self._rest))
        self.started = self.complete = True
        self._stream.end(body)

"""``start_response`` and the body a WSGI app returns -> the HTTP prelude and body on a stream.

``start_response`` checks the status and headers when it is called (PEP 3333: errors should be
raised while the app still runs) and the request's front turns them into its response head
(``response_head``: every ``Set-Cookie`` kept, framing headers dropped). The head leaves with the
first non-empty body item, or the first ``write()``: until then the app may replace it by
calling ``start_response`` again with ``exc_info``. Every item is written at once; ``write``
blocks while the client reads slowly, the back-pressure a server gives by blocking its socket.
"""

from __future__ import annotations

from lambda_streaming.http.prelude import HttpPrelude

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType
    from typing import Any

    from lambda_streaming.http.request import Front
    from lambda_streaming.runtime.stream import ResponseStream

    ExcInfo = (
        tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
    )

PLAIN_TEXT = [("Content-Type", "text/plain; charset=utf-8")]


class WsgiResponse:
    """One request's response side: ``start_response``, the ``write`` callable, body items.

    ``head_only``: a HEAD request. Its response, like a 1xx, 204 or 304 one, has no body (RFC
    9110): the app's body bytes are dropped, as gunicorn drops them, and ``item`` says when
    to stop pulling. A ``Content-Length`` the app gives is kept to: bytes beyond it are not
    sent (as gunicorn). The response ends when the body does, before the app's ``close()``
    runs (as gunicorn and Werkzeug end it): the client does not wait for post-response work
    (Flask's teardown and ``call_on_close``, Django's ``request_finished``).
    """

    __slots__ = (
        "_front",
        "_head_only",
        "_length",
        "_metadata",
        "_no_body",
        "_sent",
        "_stream",
        "done",
    )

    def __init__(self, stream: ResponseStream, front: Front, head_only: bool = False) -> None:
        self._stream = stream
        self._front = front
        self._head_only = head_only
        self._metadata: dict[str, Any] | None = None  # the prelude, once start_response ran
        self._no_body = head_only
        self._length: int | None = None  # the app's Content-Length
        self._sent = 0
        self.done = False  # nothing more of the body is to go out

    @property
    def started(self) -> bool:
        """The head has gone out: status and headers are fixed."""
        return self._stream.started

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | None = None,
    ) -> Callable[[bytes], None]:
        if exc_info is not None and exc_info[1] is not None:
            try:
                if self._stream.started:  # too late to change the head: the app's error goes on
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self._metadata is not None:
            raise AssertionError("start_response() called again without exc_info")
        code = _status_code(status)
        pairs, length = _wire_headers(headers)
        self._metadata = self._front.response_head(code, pairs)
        self._length = length
        self._no_body = self._head_only or code in (204, 304) or code < 200
        return self.write

    def write(self, data: bytes) -> None:
        """PEP 3333's ``write`` callable: the head goes out now if it has not, then ``data``."""
        self._send(_checked(data), force=True)

    def item(self, data: bytes) -> bool:
        """One item of the body iterable; empty ones are skipped (and do not send the head).
        True once the rest of the body would only be dropped (HEAD, 204, 304: head sent)."""
        if data:
            self._send(_checked(data), force=False)
            return self.done and self._no_body
        if type(data) is not bytes:
            _checked(data)
        return False

    def finish(self) -> None:
        """The body iterable is exhausted: the response ends (with its head, if that has
        not gone out yet), before the app's ``close()``."""
        if not self.done and not self._stream.started:
            self._set_prelude()
        self.done = True
        self._stream.end()

    def error(self, status: int, text: str) -> None:
        """A plain-text answer of the server's own (the app failed before its head went out)."""
        metadata = self._front.response_head(status, PLAIN_TEXT)
        self._stream.set_prelude(HttpPrelude(metadata))
        self.done = True
        self._stream.end(None if self._head_only else text)

    def _send(self, data: bytes, force: bool) -> None:
        if self.done:
            return  # past the app's Content-Length, or a body that must not have one
        if not self._stream.started:
            self._set_prelude()
            if self._no_body:
                self.done = True  # the head goes out with the stream's end
                return
        length = self._length
        if length is not None:
            left = length - self._sent
            if len(data) >= left:  # all the app said it would send: the response is complete
                self.done = True
                self._sent = length
                self._stream.end(data[:left])  # the last bytes and the end in one write
                return
            self._sent += len(data)
        if data or force:
            self._stream.write(data)

    def _set_prelude(self) -> None:
        if self._metadata is None:
            raise AssertionError("the WSGI app sent body bytes before calling start_response()")
        self._stream.set_prelude(HttpPrelude(self._metadata))


def _status_code(status: object) -> int:
    """``"200 OK"`` -> 200: three digits, then a space and a reason (which Lambda's fronts do
    not carry: a prelude has the code only)."""
    if not isinstance(status, str):
        raise TypeError(f"the WSGI status must be a str such as '200 OK', got {status!r}")
    code = status[:3]
    if len(status) < 3 or not code.isdigit() or not code.isascii() or status[3:4] not in ("", " "):
        raise ValueError(f"the WSGI status must start with a 3-digit code, got {status!r}")
    return int(code)


def _wire_headers(headers: Iterable[Any]) -> tuple[Iterable[Any], int | None]:
    """The app's headers checked as PEP 3333 says (str names and values, latin-1), as the
    front's ``response_head`` takes them, and the app's Content-Length if it gave one.

    A value is a "bytes in a str" string: one with non-ASCII characters goes on as those
    bytes, which the front writes as they are when they are UTF-8 (what the app meant).
    """
    if type(headers) is not list:
        headers = list(headers)  # any iterable of pairs, as gunicorn takes; read once
    length: int | None = None
    converted: list[tuple[str, str | bytes]] | None = None
    for index, pair in enumerate(headers):
        if type(pair) is not tuple or len(pair) != 2:
            raise TypeError(f"WSGI headers must be (name, value) tuples, got {pair!r}")
        name, value = pair
        if type(name) is not str or type(value) is not str:
            raise TypeError(f"WSGI header names and values must be str, got {pair!r}")
        if not value.isascii():
            try:
                wire: str | bytes = value.encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(
                    f"header {name!r}: a WSGI header value must be latin-1 (bytes as a str), "
                    f"got {value!r}"
                ) from None
            if converted is None:
                converted = headers[:index]
            converted.append((name, wire))
            continue
        if len(name) == 14 and name.lower() == "content-length":
            text = value.strip()
            if not text.isdigit():
                raise ValueError(f"Content-Length must be a number of bytes, got {value!r}")
            length = int(text)
        if converted is not None:
            converted.append(pair)
    return (headers if converted is None else converted), length


def _checked(data: object) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    raise TypeError(f"a WSGI body must be bytes, got {type(data).__name__}: {data!r:.80}")

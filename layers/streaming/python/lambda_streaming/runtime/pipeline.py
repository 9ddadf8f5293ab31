"""Invocations on the Runtime API: each result, failure or stream with ``next`` behind it.

The Runtime API answers a connection's requests in order, so ``next`` leaves in the same write
as a result's last bytes (HTTP/1.1 pipelining, RFC 9112 section 9.3.2) and the event follows
the result's 202 without another round trip. Only once the function's code is done: Lambda
counts ``next`` as the invocation's end and may freeze the environment from then on, so work
after a handler's own ``end()`` (or an ASGI app's background tasks) must come first. What is
owed on the wire, and so the rule that keeps this safe, is private to ``Pipeline``.

Loaded with the first invocation: reaching the first ``next`` needs only ``protocol``.
"""

from __future__ import annotations

from lambda_streaming.runtime.protocol import (
    NEXT_PATH,
    PREFIX,
    RuntimeApiError,
    header_safe,
    post_request,
)

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Sequence

    from lambda_streaming.runtime.interfaces import Buffer, Reply
    from lambda_streaming.runtime.protocol import RuntimeApi

INVOCATION_ID_HEADER = "Lambda-Runtime-Invocation-Id"


class Pipeline:
    """One invocation after another over ``api``: ``begin`` with the event's headers, send
    its result (``post_response``, ``post``, or a stream through ``send_body`` and
    ``end_request``), ``handler_returned`` once the function's code is done, then
    ``end_invocation`` reads what the result's reply says, and ``next`` hands over the next
    event."""

    def __init__(self, api: RuntimeApi) -> None:
        self._api = api
        self._send = api.send
        self.common_headers = api.common_headers
        self.echo = b""  # the invocation id line the current event's results carry
        self._returned = False  # the handler is done: a result's last bytes may carry next
        self._owed: str | None = None  # the path of a whole request whose reply is unread
        self._next_sent = False  # next is on the wire; its reply comes after ``_owed``'s

    def begin(self, headers: dict[str, str]) -> None:
        """The event whose results follow: they echo its ``Lambda-Runtime-Invocation-Id`` (so
        Lambda can catch a result sent for the wrong invocation)."""
        invocation_id = headers.get("lambda-runtime-invocation-id")
        self.echo = (
            f"{INVOCATION_ID_HEADER}: {header_safe(invocation_id)}\r\n".encode()
            if invocation_id
            else b""
        )
        self._returned = False

    def next(self) -> tuple[dict[str, str], bytes]:
        """The next event: the reply to the ``next`` a result carried, or a fresh ``next``."""
        if self._owed is not None:
            raise RuntimeError("next() before end_invocation() read the result's reply")
        if not self._next_sent:
            return self._api.next()
        self._next_sent = False
        try:
            status, headers, body = self._read()
        except ConnectionError:  # closed before answering it: ask again, as RFC 9112 says
            return self._api.next()
        if status != 200:
            raise RuntimeApiError(NEXT_PATH, status, body)
        return headers, body

    def send_body(self, parts: Sequence[Buffer], opens: bool = False) -> None:
        """Bytes of the result under way; ``opens``: they start with its head."""
        if opens and (self._owed is not None or self._next_sent):
            raise RuntimeError("a request was sent before the replies owed were read")
        try:
            self._send(parts, opens)
        except OSError:
            self.close()
            raise

    def end_request(self, path: str, parts: Sequence[Buffer], opens: bool = False) -> None:
        """The result's last bytes, to ``path``; ``end_invocation`` reads its reply. Once the
        handler returned, ``next`` goes out in the same write."""
        if self._returned:
            self.send_body((*parts, self._api.next_request), opens)
            self._next_sent = True
        else:
            self.send_body(parts, opens)
        self._owed = path

    def post(self, path: str, body: bytes, headers: bytes) -> None:
        """A whole result or failure (``headers``: whole lines, the echo among them)."""
        self.end_request(path, post_request(self._api, path, body, headers), opens=True)

    def post_response(self, request_id: str, body: bytes, content_type: str) -> None:
        """An invocation's buffered result."""
        headers = f"Content-Type: {content_type}\r\n".encode("latin-1") + self.echo
        self.post(f"{PREFIX}/invocation/{request_id}/response", body, headers)

    def handler_returned(self) -> None:
        """The function's code is done: a result completed from now on carries ``next``."""
        self._returned = True

    def end_invocation(self) -> None:
        """Ask for ``next`` if no result carried it, then read the result's reply (a refusal
        raises ``RuntimeApiError``; the event stays for ``next()``)."""
        path, self._owed = self._owed, None
        if path is None:
            return
        if not self._next_sent:  # on the result's connection, whose reply is on its way
            self.send_body((self._api.next_request,))
            self._next_sent = True
        status, _, body = self._read()
        if not 200 <= status < 300:
            raise RuntimeApiError(path, status, body)

    def close(self) -> None:
        """Drop the connection and whatever was owed on it (``next`` asks again)."""
        self._api.close()
        self._owed = None
        self._next_sent = False

    def _read(self) -> Reply:
        try:
            return self._api.read()
        except (OSError, ValueError, IndexError):
            self.close()
            raise

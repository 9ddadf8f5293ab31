"""The Runtime API's requests, each answered before the next is sent: ``next`` at start-up,
SnapStart's ``restore/next``, and the init and restore failures.

Invocations go through ``pipeline``, which builds on this and sends ``next`` behind each
result; everything here is on every cold start's path, so it is only what reaching the first
``next`` needs.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from lambda_streaming.runtime.interfaces import Transport

PREFIX = "/2018-06-01/runtime"
NEXT_PATH = PREFIX + "/invocation/next"


class RuntimeApiError(Exception):
    """The Runtime API answered with an unexpected status."""

    def __init__(self, path: str, status: int, body: bytes) -> None:
        text = body[:500].decode("utf-8", "replace")
        super().__init__(f"Runtime API {path} answered {status}: {text}")
        self.path = path
        self.status = status
        self.body = body


class RuntimeApi:
    """Requests to the Runtime API over one ``Transport`` (a ``connection.Connection``)."""

    def __init__(self, transport: Transport, address: str, user_agent: str = "") -> None:
        # The transport's own calls, not methods wrapping them: every chunk of a stream goes
        # through ``send``, and a frame less per chunk is measurable.
        self.send = transport.send  # bytes of a request; ``opens``: they start with its head
        self.read = transport.read_reply  # the reply to the oldest request on the wire
        self.close = transport.close
        agent = user_agent or "lambda-streaming/{}.{}.{}".format(*sys.version_info[:3])
        self.common_headers = f"Host: {address}\r\nUser-Agent: {agent}\r\n".encode("latin-1")
        self.next_request = self.get_request(NEXT_PATH)  # the same bytes every invocation

    def get_request(self, path: str) -> bytes:
        return b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.common_headers + b"\r\n"

    def next(self) -> tuple[dict[str, str], bytes]:
        """Block until Lambda hands over the next event: its headers (lower-case) and body."""
        return self.get(NEXT_PATH, self.next_request)

    def get(self, path: str, request: bytes | None = None) -> tuple[dict[str, str], bytes]:
        """A GET that must answer 200; ``request``: its bytes, if made already."""
        self.send((request or self.get_request(path),), opens=True)
        status, headers, body = self.read()
        if status != 200:
            raise RuntimeApiError(path, status, body)
        return headers, body

    def post(self, path: str, body: bytes, headers: bytes) -> None:
        """POST ``body`` with ``headers`` (whole lines); anything but a 2xx raises."""
        self.send(post_request(self, path, body, headers), opens=True)
        status, _, reply = self.read()
        if not 200 <= status < 300:
            raise RuntimeApiError(path, status, reply)


def post_request(api: RuntimeApi, path: str, body: bytes, headers: bytes) -> tuple[bytes, ...]:
    """A whole POST as buffers for one write: head (``headers``: whole lines), then body."""
    head = (
        f"POST {path} HTTP/1.1\r\n".encode("latin-1")
        + api.common_headers
        + headers
        + b"Content-Length: %d\r\n\r\n" % len(body)
    )
    return (head, body) if body else (head,)


def header_safe(value: str) -> str:
    """``value`` on one line: a CR or LF would end the header and break the framing."""
    return value.replace("\r", " ").replace("\n", " ")

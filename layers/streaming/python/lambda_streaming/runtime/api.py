"""The Lambda Runtime API transport: HTTP/1.1 by hand on one keep-alive socket.

Not http.client: it cannot send chunked trailers (how a stream reports an error after its first
byte) and costs more per call. The peer is local and trusted, so a small client covers it.
"""

from __future__ import annotations

import _socket  # the C module: socket.py's wrappers (enum, selectors) cost ms of cold start
import sys
from time import monotonic

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Sequence

PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
INVOCATION_ID_HEADER = "Lambda-Runtime-Invocation-Id"
_MAX_HEAD = 1 << 20
# A keep-alive connection idle longer than this is probed before reuse: a peer may have closed
# it meanwhile. Shorter gaps (next -> response, chunk -> chunk) skip the probe's two syscalls.
_PROBE_AFTER_IDLE_S = 1.0
_NEXT_PATH = PREFIX + "/invocation/next"


class RuntimeApiError(Exception):
    """The Runtime API answered with an unexpected status."""

    def __init__(self, path: str, status: int, body: bytes):
        super().__init__(
            f"Runtime API {path} answered {status}: {body[:500].decode('utf-8', 'replace')}"
        )
        self.path = path
        self.status = status
        self.body = body


class RuntimeApiClient:
    def __init__(self, address: str, user_agent: str = "") -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"AWS_LAMBDA_RUNTIME_API must be host:port, got {address!r}")
        host = host.strip("[]")
        # An ASCII host as bytes: a str would load the IDNA codec (and unicodedata) on every cold
        # start to encode what is nearly always a numeric address (127.0.0.1:9001).
        self._host: str | bytes = host.encode("ascii") if host.isascii() else host
        self._port = int(port)
        agent = user_agent or "lambda-streaming/{}.{}.{}".format(*sys.version_info[:3])
        self.common_headers = f"Host: {address}\r\nUser-Agent: {agent}\r\n".encode("latin-1")
        self.next_request = self._get_request(_NEXT_PATH)  # the same bytes every invocation
        self._sock: _socket.socket | None = None
        self._buffer = bytearray()  # bytes received but not yet parsed
        self._idle_since: float | None = None  # when the last reply was read; None: mid-request
        # The current event's Lambda-Runtime-Invocation-Id, echoed on its result POSTs (Lambda
        # uses it to catch a result sent for the wrong invocation).
        self._echo_for = ""
        self._echo = b""
        # A ``next`` went out right behind the last result (``results``): its reply is the next
        # thing on the wire, so no other request may go out before ``next()`` has read it.
        self.next_pending = False
        # The path of a result sent whole whose reply is still unread (a stream the handler
        # ended itself: ``results.end_invocation`` reads it once the handler returns).
        self.owed_reply: str | None = None

    # --- connection -------------------------------------------------------------------------

    def _connection(self, may_connect: bool) -> _socket.socket:
        sock = self._sock
        idle_since = self._idle_since
        if (
            sock is not None
            and idle_since is not None
            and monotonic() - idle_since > _PROBE_AFTER_IDLE_S
            and not _still_open(sock)
        ):
            self.close()
            sock = None
        if sock is None:
            if not may_connect:
                # Mid-body: a new connection would carry these bytes as a request of their own.
                raise ConnectionError("the Runtime API connection closed mid-request")
            family, kind, proto, _, address = _socket.getaddrinfo(
                self._host, self._port, 0, _socket.SOCK_STREAM
            )[0]
            sock = _socket.socket(family, kind, proto)
            try:
                sock.connect(address)
            except OSError:
                sock.close()
                raise
            # Every write goes out at once: a streamed chunk must not wait for Nagle's timer.
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            self._sock = sock
            self._buffer.clear()
        return sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._buffer.clear()
        self.next_pending = False  # it went down with the connection: next() sends it again
        self.owed_reply = None

    def send(self, parts: Sequence[bytes], may_connect: bool = False) -> None:
        """Write all buffers in one system call where the kernel takes them (no copies).

        ``may_connect``: the parts start with a request head, so a closed connection may be
        reopened; anything else (a chunk of a body under way) must fail instead.
        """
        if may_connect and (self.next_pending or self.owed_reply):
            raise RuntimeError("a request was sent before the replies owed were read")
        sock = self._connection(may_connect)
        self._idle_since = None
        try:
            sent = sock.sendmsg(parts)
            total = sum(map(len, parts))
            if sent < total:  # the socket buffer is full: block until the reader catches up
                for part in parts:
                    if sent >= len(part):
                        sent -= len(part)
                        continue
                    sock.sendall(memoryview(part)[sent:])
                    sent = 0
        except OSError:
            self.close()
            raise

    def _fill(self) -> None:
        assert self._sock is not None
        data = self._sock.recv(262144)
        if not data:
            raise ConnectionError("the Runtime API closed the connection")
        self._buffer += data

    def _read_until(self, marker: bytes) -> bytes:
        buffer = self._buffer
        start = 0
        while True:
            end = buffer.find(marker, start)
            if end >= 0:
                end += len(marker)
                data = bytes(buffer[:end])
                del buffer[:end]
                return data
            if len(buffer) > _MAX_HEAD:
                raise ValueError("Runtime API response head too large")
            start = max(0, len(buffer) - len(marker) + 1)
            self._fill()

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read_response(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """The reply to the oldest request on the wire: status, headers (lower-case), body."""
        try:
            lines = self._read_until(b"\r\n\r\n").decode("utf-8", "replace").split("\r\n")
            status = int(lines[0].split(None, 2)[1])
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            if "content-length" in headers:
                body = self._read_exactly(int(headers["content-length"]))
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                body = self._read_chunked()
            elif status in (204, 304) or 100 <= status < 200:
                body = b""
            else:
                body = self._read_to_close()
                headers["connection"] = "close"
        except (OSError, ValueError, IndexError):
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        else:
            self._idle_since = monotonic()
        return status, headers, body

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size = int(self._read_until(b"\r\n").split(b";", 1)[0], 16)
            if size == 0:
                while self._read_until(b"\r\n") != b"\r\n":
                    pass  # trailers: nothing the runtime needs
                return bytes(body)
            body += self._read_exactly(size + 2)[:-2]

    def _read_to_close(self) -> bytes:
        try:
            while True:
                self._fill()
        except ConnectionError:
            pass
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def get(self, path: str, request: bytes | None = None) -> tuple[dict[str, str], bytes]:
        """A GET that must answer 200 (``next``, ``restore/next``); ``request``: its bytes."""
        if request is None:
            request = self._get_request(path)
        self.send((request,), may_connect=True)
        status, headers, body = self.read_response(path)
        if status != 200:
            raise RuntimeApiError(path, status, body)
        return headers, body

    def _get_request(self, path: str) -> bytes:
        return b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.common_headers + b"\r\n"

    # --- the Runtime API ----------------------------------------------------------------------

    def next(self) -> tuple[dict[str, str], bytes]:
        """Block until Lambda hands over the next event: its headers (lower-case) and body.

        After a result the request is out already (``results``); only its reply is read.
        """
        if not self.next_pending:
            headers, body = self.get(_NEXT_PATH, self.next_request)
        else:
            self.next_pending = False
            try:
                status, headers, body = self.read_response(_NEXT_PATH)
            except ConnectionError:  # closed before answering it: ask again, as RFC 9112 says
                headers, body = self.get(_NEXT_PATH, self.next_request)
            else:
                if status != 200:
                    raise RuntimeApiError(_NEXT_PATH, status, body)
        invocation_id = headers.get("lambda-runtime-invocation-id")
        self._echo_for = headers.get("lambda-runtime-aws-request-id", "")
        self._echo = (
            b"%s: %s\r\n" % (INVOCATION_ID_HEADER.encode(), header_safe(invocation_id).encode())
            if invocation_id
            else b""
        )
        return headers, body

    def echo_header(self, request_id: str) -> bytes:
        """The invocation id header line for a result of ``request_id`` (empty if none)."""
        return self._echo if request_id == self._echo_for else b""


def _still_open(sock: _socket.socket) -> bool:
    """False if the peer closed an idle keep-alive connection (so we reconnect, not fail)."""
    try:
        return sock.recv(1, _socket.MSG_PEEK | _socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def header_safe(value: str) -> str:
    """``value`` on one line: a CR or LF would end the header and break the framing."""
    return value.replace("\r", " ").replace("\n", " ")

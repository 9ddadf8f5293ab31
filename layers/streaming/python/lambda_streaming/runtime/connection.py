"""The connection to the Runtime API: HTTP/1.1 framing by hand on one keep-alive socket.

Not http.client: it cannot send chunked trailers (how a stream reports an error after its first
byte) and costs more per call. The peer is local and trusted, so a small client covers it. It
knows bytes and replies only; what the requests mean is ``protocol``'s.
"""

from __future__ import annotations

import _socket  # the C module: socket.py's wrappers (enum, selectors) cost ms of cold start
from time import monotonic

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Sequence

    from lambda_streaming.runtime.interfaces import Buffer, Reply

_MAX_HEAD = 1 << 20
# A keep-alive connection idle longer than this is probed before reuse: a peer may have closed
# it meanwhile. Shorter gaps (next -> response, chunk -> chunk) skip the probe's two syscalls.
_PROBE_AFTER_IDLE_S = 1.0


class Connection:
    """One keep-alive connection to ``host:port``, opened on the first request head."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"AWS_LAMBDA_RUNTIME_API must be host:port, got {address!r}")
        host = host.strip("[]")
        # An ASCII host as bytes: a str would load the IDNA codec (and unicodedata) on every cold
        # start to encode what is nearly always a numeric address (127.0.0.1:9001).
        self._host: str | bytes = host.encode("ascii") if host.isascii() else host
        self._port = int(port)
        self._sock: _socket.socket | None = None
        self._buffer = bytearray()  # bytes received but not yet parsed
        self._idle_since: float | None = None  # when the last reply was read; None: mid-request

    def send(self, parts: Sequence[Buffer], opens: bool = False) -> None:
        """Write all buffers in one system call where the kernel takes them (no copies).

        ``opens``: the parts start with a request head, so a closed connection may be replaced;
        anything else (a chunk of a body under way) must fail instead, or the new connection
        would read it as a request of its own. Blocks while the peer reads slowly.
        """
        sock = self._open(opens)
        self._idle_since = None
        try:
            sent = sock.sendmsg(parts)
            if sent < sum(map(len, parts)):  # the socket buffer is full: wait for the reader
                for part in parts:
                    if sent >= len(part):
                        sent -= len(part)
                        continue
                    sock.sendall(memoryview(part)[sent:])
                    sent = 0
        except OSError:
            self.close()
            raise

    def read_reply(self) -> Reply:
        """The reply to the oldest request on the wire."""
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
            else:  # HTTP/1.1 frames every reply that has a body; the Runtime API does
                raise ValueError("Runtime API reply with neither Content-Length nor chunks")
        except (OSError, ValueError, IndexError):
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        else:
            self._idle_since = monotonic()
        return status, headers, body

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._buffer.clear()

    def _open(self, may_connect: bool) -> _socket.socket:
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
        if sock is not None:
            return sock
        if not may_connect:
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

    def _fill(self) -> None:
        if self._sock is None:
            raise ConnectionError("the Runtime API connection is closed")
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

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size = int(self._read_until(b"\r\n").split(b";", 1)[0], 16)
            if size == 0:
                while self._read_until(b"\r\n") != b"\r\n":
                    pass  # trailers: nothing the runtime needs
                return bytes(body)
            body += self._read_exactly(size + 2)[:-2]


def _still_open(sock: _socket.socket) -> bool:
    """False if the peer closed an idle keep-alive connection (so we reconnect, not fail)."""
    try:
        return sock.recv(1, _socket.MSG_PEEK | _socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False

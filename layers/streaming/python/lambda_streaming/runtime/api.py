"""Client for the Lambda Runtime API on one persistent keep-alive socket.

Standard library only, and hand-written HTTP/1.1 instead of http.client: http.client cannot send
chunked trailers (the only way to report an error after a stream's first byte), and a plain
socket costs far less per invocation. The Runtime API is a local, trusted peer speaking simple
HTTP/1.1, so a small client covers it: requests in sequence, Content-Length or chunked replies.
"""

from __future__ import annotations

import _socket  # the C module: socket.py's wrappers (enum, selectors) cost ms of cold start
import json
import sys
from time import monotonic

from lambda_streaming.runtime.chunked import chunks, last_chunk

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Sequence

    from lambda_streaming.runtime.errors import ErrorDocument

PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
_MAX_HEAD = 1 << 20
# A keep-alive connection idle longer than this is probed before reuse: a peer may have closed
# it meanwhile. Shorter gaps (next -> response, chunk -> chunk) skip the probe's two syscalls.
_PROBE_AFTER_IDLE_S = 1.0


class RuntimeApiError(Exception):
    """The Runtime API answered with an unexpected status."""

    def __init__(self, path: str, status: int, body: bytes):
        super().__init__(
            f"Runtime API {path} answered {status}: {body[:500].decode('utf-8', 'replace')}"
        )
        self.path = path
        self.status = status
        self.body = body


class StreamBrokenError(ConnectionError):
    """The connection carrying a streamed response failed; the rest of the body is lost."""


class Invocation:
    """One event from ``next``, with the headers the runtime must act on.

    A plain class, not a dataclass: importing dataclasses costs several ms of cold start.
    """

    __slots__ = (
        "body",
        "client_context",
        "cognito_identity",
        "content_type",
        "deadline_ms",
        "invoked_function_arn",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(
        self,
        request_id: str,
        deadline_ms: int,
        invoked_function_arn: str,
        trace_id: str | None,
        client_context: str | None,
        cognito_identity: str | None,
        tenant_id: str | None,
        content_type: str | None,
        body: bytes,
    ) -> None:
        self.request_id = request_id
        self.deadline_ms = deadline_ms
        self.invoked_function_arn = invoked_function_arn
        self.trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.tenant_id = tenant_id
        self.content_type = content_type
        self.body = body


class RuntimeApiClient:
    def __init__(self, address: str, user_agent: str = "") -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"AWS_LAMBDA_RUNTIME_API must be host:port, got {address!r}")
        self._host, self._port = host.strip("[]"), int(port)
        agent = user_agent or "lambda-streaming/{}.{}.{}".format(*sys.version_info[:3])
        self._common = f"Host: {address}\r\nUser-Agent: {agent}\r\n".encode("latin-1")
        self._sock: _socket.socket | None = None
        self._buffer = bytearray()  # bytes received but not yet parsed
        self._idle_since: float | None = None  # when the last reply was read; None: mid-request

    # --- connection -------------------------------------------------------------------------

    def _connection(self) -> _socket.socket:
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

    def _send(self, parts: Sequence[bytes]) -> None:
        """Write all buffers in one system call where the kernel takes them (no copies)."""
        sock = self._connection()
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

    def _read_response(self, path: str) -> tuple[int, dict[str, str], bytes]:
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

    def _request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\n".encode("latin-1")
            + self._common
            + headers.encode("latin-1")
            + b"Content-Length: %d\r\n\r\n" % len(body)
        )
        self._send((head, body) if body else (head,))
        return self._read_response(path)

    # --- the Runtime API ----------------------------------------------------------------------

    def next(self) -> Invocation:
        """Block until Lambda hands over the next event."""
        path = PREFIX + "/invocation/next"
        self._send((b"GET " + path.encode() + b" HTTP/1.1\r\n" + self._common + b"\r\n",))
        status, headers, body = self._read_response(path)
        if status != 200:
            raise RuntimeApiError(path, status, body)
        return Invocation(
            request_id=headers.get("lambda-runtime-aws-request-id", ""),
            deadline_ms=int(headers.get("lambda-runtime-deadline-ms") or 0),
            invoked_function_arn=headers.get("lambda-runtime-invoked-function-arn", ""),
            trace_id=headers.get("lambda-runtime-trace-id"),
            client_context=headers.get("lambda-runtime-client-context"),
            cognito_identity=headers.get("lambda-runtime-cognito-identity"),
            tenant_id=headers.get("lambda-runtime-aws-tenant-id"),
            content_type=headers.get("content-type"),
            body=body,
        )

    def post_response(self, request_id: str, body: bytes, content_type: str) -> None:
        path = f"{PREFIX}/invocation/{request_id}/response"
        status, _, reply = self._request("POST", path, body, f"Content-Type: {content_type}\r\n")
        _expect_accepted(path, status, reply)

    def post_error(self, request_id: str, document: ErrorDocument) -> None:
        self._post_error(f"{PREFIX}/invocation/{request_id}/error", document)

    def post_init_error(self, document: ErrorDocument) -> None:
        self._post_error(f"{PREFIX}/init/error", document)

    def _post_error(self, path: str, document: ErrorDocument) -> None:
        body = json.dumps(document, ensure_ascii=False).encode()
        error_type = _header_safe(str(document.get("errorType") or "Unhandled"))
        headers = f"Content-Type: application/json\r\n{ERROR_TYPE_HEADER}: {error_type}\r\n"
        status, _, reply = self._request("POST", path, body, headers)
        _expect_accepted(path, status, reply)

    def stream(self, request_id: str, content_type: str) -> ChunkedPost:
        return ChunkedPost(self, request_id, content_type)


class ChunkedPost:
    """One streamed response: a chunked POST whose head leaves with the first chunk.

    Holding the head back until there is data (as AWS's Node client does) lets one system call
    carry head, prelude, delimiter and the first body bytes.
    """

    def __init__(self, client: RuntimeApiClient, request_id: str, content_type: str) -> None:
        self._client = client
        self._path = f"{PREFIX}/invocation/{request_id}/response"
        self._content_type = content_type
        self.committed = False  # bytes are on the wire; errors can only go in trailers now
        self.finished = False

    def _head(self) -> bytes:
        return (
            f"POST {self._path} HTTP/1.1\r\n".encode("latin-1")
            + self._client._common
            + b"Lambda-Runtime-Function-Response-Mode: streaming\r\n"
            + b"Transfer-Encoding: chunked\r\n"
            + f"Trailer: {ERROR_TYPE_HEADER}, {ERROR_BODY_TRAILER}\r\n".encode("latin-1")
            + f"Content-Type: {_header_safe(self._content_type)}\r\n\r\n".encode("latin-1")
        )

    def set_content_type(self, content_type: str) -> None:
        if self.committed:
            raise RuntimeError("the Content-Type was already sent")
        self._content_type = content_type

    def send(self, pieces: Sequence[bytes]) -> None:
        """Put each piece on the wire as one chunk; blocks while the reader is slow."""
        parts = chunks(pieces)
        if not self.committed:
            parts.insert(0, self._head())
            self.committed = True
        if parts:
            self._write(parts)

    def finish(self, error: ErrorDocument | None = None) -> None:
        """End the body; an error goes into the trailers, base64 so no CR/LF breaks framing."""
        if self.finished:
            return
        self.finished = True
        trailers: list[tuple[str, str]] = []
        if error is not None:
            import base64

            encoded = base64.b64encode(json.dumps(error, ensure_ascii=False).encode())
            trailers = [
                (ERROR_TYPE_HEADER, _header_safe(str(error.get("errorType") or "Unhandled"))),
                (ERROR_BODY_TRAILER, encoded.decode("ascii")),
            ]
        parts = [last_chunk(trailers)]
        if not self.committed:
            parts.insert(0, self._head())
            self.committed = True
        self._write(parts)
        status, _, reply = self._client._read_response(self._path)
        _expect_accepted(self._path, status, reply)

    def _write(self, parts: Sequence[bytes]) -> None:
        try:
            self._client._send(parts)
        except OSError as exc:
            self.finished = True
            raise StreamBrokenError(f"the Runtime API connection broke mid-stream: {exc}") from exc


def _still_open(sock: _socket.socket) -> bool:
    """False if the peer closed an idle keep-alive connection (so we reconnect, not fail)."""
    try:
        return sock.recv(1, _socket.MSG_PEEK | _socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def _expect_accepted(path: str, status: int, body: bytes) -> None:
    if not 200 <= status < 300:
        raise RuntimeApiError(path, status, body)


def _header_safe(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")

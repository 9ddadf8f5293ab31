"""A streamed response: one chunked POST to the Runtime API, with HTTP/1.1 framing by hand.

The standard library's http.client can send a chunked body but not trailers, and trailers are
how a stream reports an error after its first byte (Lambda-Runtime-Function-Error-Type/-Body).
The layer is standard-library-only (no install step, fast cold start), hence these few lines.
Loaded with the first streamed response, not at start-up.
"""

from __future__ import annotations

import json

from lambda_streaming.runtime.api import (
    ERROR_BODY_TRAILER,
    ERROR_TYPE_HEADER,
    PREFIX,
    header_safe,
)
from lambda_streaming.runtime.results import expect_accepted, send_with_next
from lambda_streaming.runtime.stream import StreamBrokenError

__all__ = ["ChunkedPost", "StreamBrokenError", "chunk_parts", "chunks", "last_chunk"]

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from lambda_streaming.runtime.api import RuntimeApiClient
    from lambda_streaming.runtime.errors import ErrorDocument

CRLF = b"\r\n"


def chunk_parts(data: bytes) -> tuple[bytes, bytes, bytes]:
    """One chunk as three buffers for sendmsg(): size line, data (not copied), CRLF."""
    if not data:
        raise ValueError("a zero-length chunk would end the body; skip empty writes instead")
    return b"%x\r\n" % len(data), data, CRLF


def chunks(pieces: Iterable[bytes]) -> list[bytes]:
    """Frame each non-empty piece as its own chunk, flattened for a single sendmsg()."""
    parts: list[bytes] = []
    for piece in pieces:
        if piece:
            parts.extend(chunk_parts(piece))
    return parts


def last_chunk(trailers: Sequence[tuple[str, str]] = ()) -> bytes:
    """The zero-length chunk, the trailer fields, and the final CRLF."""
    lines = [b"0\r\n"]
    for name, value in trailers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"trailer {name!r} contains CR or LF; it would break the framing")
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    lines.append(CRLF)
    return b"".join(lines)


# The same for every streamed response: built once, not per stream.
_STREAMING_HEADERS = (
    b"Lambda-Runtime-Function-Response-Mode: streaming\r\n"
    b"Transfer-Encoding: chunked\r\n"
    + f"Trailer: {ERROR_TYPE_HEADER}, {ERROR_BODY_TRAILER}\r\n".encode("latin-1")
)


class ChunkedPost:
    """One streamed response: a chunked POST whose head leaves with the first chunk.

    Holding the head back until there is data (as AWS's Node client does) lets one system call
    carry head, prelude, delimiter and the first body bytes.
    """

    def __init__(self, client: RuntimeApiClient, request_id: str, content_type: str) -> None:
        self._client = client
        self._path = f"{PREFIX}/invocation/{request_id}/response"
        self._echo = client.echo_header(request_id)  # Lambda-Runtime-Invocation-Id, if any
        self._content_type = content_type
        self.committed = False  # bytes are on the wire; errors can only go in trailers now
        self.finished = False

    def _head(self) -> bytes:
        return (
            f"POST {self._path} HTTP/1.1\r\n".encode("latin-1")
            + self._client.common_headers
            + self._echo
            + _STREAMING_HEADERS
            + f"Content-Type: {header_safe(self._content_type)}\r\n\r\n".encode("latin-1")
        )

    def set_content_type(self, content_type: str) -> None:
        if self.committed:
            raise RuntimeError("the Content-Type was already sent")
        self._content_type = content_type

    def send(self, pieces: Sequence[bytes]) -> None:
        """Put each piece on the wire as one chunk; blocks while the reader is slow."""
        if self.finished:
            raise StreamBrokenError("the response stream is closed")
        if self.committed and len(pieces) == 1:  # the common write: one piece, head long gone
            data = pieces[0]
            if data:
                self._write((b"%x\r\n" % len(data), data, CRLF))
            return
        parts = chunks(pieces)
        if parts or not self.committed:
            self._put(parts)

    def finish(
        self,
        error: ErrorDocument | None = None,
        last: Sequence[bytes] = (),
        ends_invocation: bool = False,
    ) -> None:
        """End the body; an error goes into the trailers, base64 so no CR/LF breaks framing.

        ``last``: pieces still to send as chunks, in the same system call as the end (a
        response known whole at once costs one write, as a buffered result does).
        ``ends_invocation``: the handler is done, so ``next`` goes out behind the end; else
        the reply is left for ``results.end_invocation`` to read.
        """
        if self.finished:
            return
        self.finished = True
        trailers: list[tuple[str, str]] = []
        if error is not None:
            import base64

            from lambda_streaming.runtime.reports import error_type_field

            encoded = base64.b64encode(json.dumps(error, ensure_ascii=False).encode())
            trailers = [
                (ERROR_TYPE_HEADER, error_type_field(error)),
                (ERROR_BODY_TRAILER, encoded.decode("ascii")),
            ]
        parts = chunks(last) if last else []
        parts.append(last_chunk(trailers))
        self._put(parts, ends=ends_invocation)
        if not ends_invocation:  # the handler's own end(): its code goes on without waiting
            self._client.owed_reply = self._path
            return
        status, _, reply = self._client.read_response(self._path)
        expect_accepted(self._path, status, reply)

    def _put(self, parts: list[bytes], ends: bool = False) -> None:
        """Write ``parts``, after the head if it has not left yet; ``ends``: with ``next``."""
        if self.committed:
            self._write(parts, ends=ends)
            return
        self._write([self._head(), *parts], head=True, ends=ends)
        self.committed = True  # only now: had that write failed, /error could still tell

    def _write(self, parts: Sequence[bytes], head: bool = False, ends: bool = False) -> None:
        client = self._client
        try:
            if ends:  # the handler is done: next goes out behind the end
                send_with_next(client, parts, may_connect=head)  # only a head may connect
            else:
                client.send(parts, may_connect=head)
        except OSError as exc:
            self.finished = True
            raise StreamBrokenError(f"the Runtime API connection broke mid-stream: {exc}") from exc

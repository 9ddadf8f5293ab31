"""A streamed response: one chunked POST to the Runtime API, with HTTP/1.1 framing by hand.

The standard library's http.client can send a chunked body but not trailers, and trailers are
how a stream reports an error after its first byte (Lambda-Runtime-Function-Error-Type/-Body).
The layer is standard-library-only (no install step, fast cold start), hence these few lines.
Loaded with the first streamed response, not at start-up.
"""

from __future__ import annotations

from lambda_streaming.runtime.errors import ERROR_TYPE_HEADER
from lambda_streaming.runtime.protocol import PREFIX, header_safe
from lambda_streaming.runtime.stream import StreamBrokenError

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from lambda_streaming.runtime.interfaces import Buffer, ErrorDocument
    from lambda_streaming.runtime.pipeline import Pipeline

CRLF = b"\r\n"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"


def chunk_parts(data: Buffer) -> tuple[bytes, Buffer, bytes]:
    """One chunk as three buffers for sendmsg(): size line, data (not copied), CRLF."""
    if not data:
        raise ValueError("a zero-length chunk would end the body; skip empty writes instead")
    return b"%x\r\n" % len(data), data, CRLF


def chunks(pieces: Iterable[Buffer]) -> list[Buffer]:
    """Frame each non-empty piece as its own chunk, flattened for a single sendmsg()."""
    parts: list[Buffer] = []
    for piece in pieces:
        if piece:
            parts.extend(chunk_parts(piece))
    return parts


# A response known whole when it ends (a small JSON answer: prelude, delimiter and body with the
# end) goes out as one chunk up to this size: copying a few KiB costs less than the reader's
# work per chunk. Mid-stream writes keep a chunk each, framed as AWS's Node client frames them.
_JOIN_UP_TO = 16384


def last_chunks(pieces: Sequence[Buffer]) -> list[Buffer]:
    """The last pieces of a body, framed: joined into one chunk when they are small."""
    if len(pieces) > 1 and sum(map(len, pieces)) <= _JOIN_UP_TO:
        return chunks((b"".join(pieces),))
    return chunks(pieces)


def last_chunk(trailers: Sequence[tuple[str, str]] = ()) -> bytes:
    """The zero-length chunk, the trailer fields, and the final CRLF."""
    lines = [b"0\r\n"]
    for name, value in trailers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"trailer {name!r} contains CR or LF; it would break the framing")
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    lines.append(CRLF)
    return b"".join(lines)


def error_trailers(error: ErrorDocument) -> list[tuple[str, str]]:
    """The error's type, and the whole document as base64 JSON: a CR/LF in a trailer value
    would break the framing (Lambda then reports Runtime.TruncatedResponse)."""
    import base64
    import json

    from lambda_streaming.runtime.reports import error_type_field

    encoded = base64.b64encode(json.dumps(error, ensure_ascii=False).encode())
    return [
        (ERROR_TYPE_HEADER, error_type_field(error)),
        (ERROR_BODY_TRAILER, encoded.decode("ascii")),
    ]


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

    def __init__(self, pipeline: Pipeline, request_id: str, content_type: str) -> None:
        self._pipeline = pipeline
        self._path = f"{PREFIX}/invocation/{request_id}/response"
        self._echo = pipeline.echo  # this invocation's id line, whenever the head leaves
        self._content_type = content_type
        self.committed = False  # bytes are on the wire; errors can only go in trailers now
        self.finished = False

    def _head(self) -> bytes:
        return (
            f"POST {self._path} HTTP/1.1\r\n".encode("latin-1")
            + self._pipeline.common_headers
            + self._echo
            + _STREAMING_HEADERS
            + f"Content-Type: {header_safe(self._content_type)}\r\n\r\n".encode("latin-1")
        )

    def set_content_type(self, content_type: str) -> None:
        if self.committed:
            raise RuntimeError("the Content-Type was already sent")
        self._content_type = content_type

    def send(self, pieces: Sequence[Buffer]) -> None:
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
            self._write(parts)

    def finish(self, error: ErrorDocument | None = None, last: Sequence[Buffer] = ()) -> None:
        """End the body (``error`` in the trailers). ``last``: pieces still to send, in the
        same system call as the end, so a response known whole at once costs one write."""
        if self.finished:
            return
        self.finished = True
        parts = last_chunks(last) if last else []
        parts.append(last_chunk(error_trailers(error) if error is not None else ()))
        self._write(parts, ends=True)

    def _write(self, parts: Sequence[Buffer], ends: bool = False) -> None:
        """Write ``parts``, after the head if it has not left yet; only a head may connect."""
        opens = not self.committed
        if opens:
            parts = [self._head(), *parts]
        try:
            if ends:
                self._pipeline.end_request(self._path, parts, opens)
            else:
                self._pipeline.send_body(parts, opens)
        except OSError as exc:
            self.finished = True
            raise StreamBrokenError(f"the Runtime API connection broke mid-stream: {exc}") from exc
        self.committed = True  # only now: had that write failed, /error could still tell

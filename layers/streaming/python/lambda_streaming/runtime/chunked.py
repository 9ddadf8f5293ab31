"""HTTP/1.1 chunked framing, written by hand.

The standard library's http.client can send a chunked body but not trailers, and trailers are
how a stream reports an error after its first byte (Lambda-Runtime-Function-Error-Type/-Body).
The layer is standard-library-only (no install step, fast cold start), hence these few lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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

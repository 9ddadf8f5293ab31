"""Streamed bench handlers for our runtime (``lambda_streaming``); Node's are in node_bench.mjs."""

from __future__ import annotations

from typing import Any

from lambda_streaming import streamify_response

_PIECE_CACHE: dict[int, bytes] = {}


@streamify_response
def noop(event: Any, response_stream: Any, context: Any) -> None:
    """One tiny write and the end: the cost of opening and closing a streamed response."""
    response_stream.write(b"ok")
    response_stream.end()


@streamify_response
def bulk(event: Any, response_stream: Any, context: Any) -> None:
    """Write ``event["total"]`` bytes in ``event["piece"]``-byte writes (the throughput test).

    The piece is allocated once, so the figure is the runtime's write path, not the handler's.
    """
    total, piece_size = int(event["total"]), int(event["piece"])
    piece = _PIECE_CACHE.get(piece_size)
    if piece is None:
        piece = _PIECE_CACHE[piece_size] = b"x" * piece_size
    full, rest = divmod(total, piece_size)
    write = response_stream.write
    for _ in range(full):
        write(piece)
    if rest:
        write(piece[:rest])
    response_stream.end()

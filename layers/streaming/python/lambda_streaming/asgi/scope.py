"""An HTTP request (from either front) -> the ASGI ``http`` scope uvicorn would build for it.

Routing, ``request.url``, cookies and client addresses then work as they do behind a server:
``path`` decoded and ``raw_path`` as the client sent it (percent-encoding kept, so ``%2F`` in a
segment is not a ``/``), a REST stage or base path as ``root_path`` with ``path`` including it
(uvicorn's ``--root-path``), header values as the bytes the client sent.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lambda_streaming.http.request import Request

ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}


def http_scope(request: Request) -> dict[str, Any]:
    root_path = request.root_path
    return {
        "type": "http",
        "asgi": dict(ASGI_VERSION),
        "http_version": request.http_version,
        "method": request.method,
        "scheme": request.scheme,
        "path": root_path + request.path,
        "raw_path": _bytes(request.raw_root_path + request.raw_path),
        "root_path": root_path,
        "query_string": _bytes(request.query_string),
        "headers": _header_bytes(request.headers),
        "client": (request.source_ip, 0) if request.source_ip else None,
        "server": (request.host, request.port) if request.host and request.port else None,
    }


def _header_bytes(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Names as latin-1; values as the UTF-8 bytes the front decoded them from (the emulator
    keeps undecodable bytes as surrogates, which come back as they were)."""
    try:  # ASCII names and values, as nearly every header has them: no call per header
        return [(name.encode("latin-1"), value.encode()) for name, value in headers]
    except UnicodeEncodeError:
        return [(name.encode("latin-1", "replace"), _bytes(value)) for name, value in headers]


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")

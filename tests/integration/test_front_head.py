"""HEAD through every front and mode, over one raw kept-alive socket: the function writes a
body, the front drops it (RFC 9110 9.3.2), and the next response on that connection is whole.

A body byte after a HEAD answer's head would be read as the start of the next response (the
``BadStatusLine`` a client then reports), so the bytes are read raw, not through a client that
might resynchronise.
"""

from __future__ import annotations

import http.client
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamlab.emulator.rest_template import load_rest_apis
from streamlab.emulator.server import EmulatorServer
from tests.support.front_server import serving_template

TEMPLATE = Path(__file__).resolve().parents[1] / "fixtures" / "limits_app" / "template.yaml"
BODY = b"a body that no HEAD answer may carry\n" * 3

FRONTS = {
    "url-streamed": "/StreamedFunction/",
    "url-buffered": "/BufferedFunction/",
    "rest-streamed": "/ServerlessRestApi/Prod/streamed",
    "rest-buffered": "/ServerlessRestApi/Prod/buffered",
}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    apis = load_rest_apis(TEMPLATE)
    with serving_template(TEMPLATE, rest_apis=apis, auth=False) as running:
        yield running


class _Replay:
    """Bytes already read, offered to http.client as a socket."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def makefile(self, *args: object, **kwargs: object) -> io.BytesIO:
        return self._file


def _head_then_get(port: int, path: str) -> tuple[bytes, bytes]:
    """HEAD, then (once its head is in) GET on the same connection: the HEAD head, and every
    byte that came after it up to the end of the GET answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: local\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            assert data, f"connection closed before the HEAD head: {received!r}"
            received += data
        head, _, after = received.partition(b"\r\n\r\n")
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n".encode())
        while data := sock.recv(65536):
            after += data
    return head, after


@pytest.mark.parametrize("front", FRONTS)
def test_head_then_get_on_one_connection(server: EmulatorServer, front: str) -> None:
    head, after = _head_then_get(server.port, FRONTS[front])
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"content-type: text/plain" in head.lower()
    # Nothing between the HEAD head and the next status line: no body, no chunk framing.
    assert after.startswith(b"HTTP/1.1 200 "), after[:200]
    response = http.client.HTTPResponse(_Replay(after))  # type: ignore[arg-type]
    response.begin()
    assert response.read() == BODY

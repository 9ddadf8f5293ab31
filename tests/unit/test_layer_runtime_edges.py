"""Runtime details with no distinct bytes on the wire of their own: checked in-process."""

from __future__ import annotations

import socket

import pytest

from lambda_streaming.runtime.api import RuntimeApiClient
from lambda_streaming.runtime.chunked import ChunkedPost, StreamBrokenError


@pytest.fixture
def listener() -> socket.socket:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    yield server
    server.close()


def test_only_a_request_head_may_open_a_connection(listener: socket.socket) -> None:
    client = RuntimeApiClient(f"127.0.0.1:{listener.getsockname()[1]}")
    with pytest.raises(ConnectionError):
        client._send((b"b\r\nafter-error\r\n",))  # a chunk with no connection under it
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing connected
    client._send((b"GET / HTTP/1.1\r\n\r\n",), may_connect=True)
    listener.accept()[0].close()
    client.close()


def test_a_finished_chunked_post_refuses_more_chunks(listener: socket.socket) -> None:
    client = RuntimeApiClient(f"127.0.0.1:{listener.getsockname()[1]}")
    post = ChunkedPost(client, "r1", "text/plain")
    post.finished = True  # as after a broken write
    with pytest.raises(StreamBrokenError, match="closed"):
        post.send((b"more",))
    with pytest.raises(TimeoutError):
        listener.accept()

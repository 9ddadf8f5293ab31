"""The cheapest Runtime API client we can write: it measures the server's ceiling.

Run as a script (``python minimal_client.py``), not imported: it must start and loop with
as little work as possible, so that what the bench shows for it is the Runtime API
server's cost, not a client's. It does what a runtime must and nothing more: one
keep-alive socket (``_socket``, as our runtime's), pre-built request bytes, ``next`` sent
behind each result as our runtime sends it (HTTP/1.1 pipelining: one round trip per
invocation), no JSON except to read the bulk workload's size. It trusts the server (it is
only ever pointed at ours) and exits on any surprise. Its start-up is the floor: an
interpreter, one module and one socket.

``_HANDLER`` picks the answer: ``buffered`` (a small JSON result), ``streamed`` (one tiny
chunk) or ``bulk`` (``event["total"]`` bytes in ``event["piece"]``-byte chunks).
"""

from __future__ import annotations

import _socket  # the C module: socket.py's enum and selectors would cost the floor ms
import os
import sys

NEXT_PATH = "/2018-06-01/runtime/invocation/next"
RESULT = b'{"ok":true}'


def _read_head(sock: _socket.socket, buffer: bytearray) -> tuple[bytes, int]:
    """Reads one response head; returns it and where its body starts in ``buffer``."""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            return bytes(buffer[:end]), end + 4
        data = sock.recv(65536)
        if not data:
            sys.exit(0)  # the server went away: the bench is over
        buffer += data


def _read_response(sock: _socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    """Reads one ``Content-Length`` response (the server always sends one)."""
    head, start = _read_head(sock, buffer)
    length = int(_header(head, b"content-length"))
    while len(buffer) < start + length:
        data = sock.recv(65536)
        if not data:
            sys.exit(0)
        buffer += data
    body = bytes(buffer[start : start + length])
    del buffer[: start + length]
    return head, body


def _header(head: bytes, name: bytes) -> bytes:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    raise SystemExit(f"no {name.decode()} header in {head!r}")


def _streamed_head(host: str, request_id: str) -> bytes:
    return (
        f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def main() -> None:
    host = os.environ["AWS_LAMBDA_RUNTIME_API"]
    mode = os.environ.get("_HANDLER", "buffered")
    address, _, port = host.rpartition(":")
    family, kind, proto, _, target = _socket.getaddrinfo(
        address.encode(), int(port), 0, _socket.SOCK_STREAM
    )[0]
    sock = _socket.socket(family, kind, proto)
    sock.connect(target)
    sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    next_request = f"GET {NEXT_PATH} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    buffer = bytearray()
    sock.sendall(next_request)
    while True:  # each result carries the next ``next`` behind it (HTTP/1.1 pipelining)
        head, event = _read_response(sock, buffer)
        request_id = _header(head, b"lambda-runtime-aws-request-id").decode()
        if mode == "buffered":
            sock.sendall(
                (
                    f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\n"
                    f"Host: {host}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(RESULT)}\r\n\r\n"
                ).encode()
                + RESULT
                + next_request
            )
        elif mode == "streamed":
            sock.sendall(_streamed_head(host, request_id) + b"2\r\nok\r\n0\r\n\r\n" + next_request)
        else:
            import json  # bulk only: the floor's start-up is an interpreter and a socket

            spec = json.loads(event)
            total, piece_size = int(spec["total"]), int(spec["piece"])
            sock.sendall(_streamed_head(host, request_id))
            piece = f"{piece_size:x}\r\n".encode() + b"x" * piece_size + b"\r\n"
            full, rest = divmod(total, piece_size)
            for _ in range(full):
                sock.sendall(piece)
            if rest:
                sock.sendall(f"{rest:x}\r\n".encode() + b"x" * rest + b"\r\n")
            sock.sendall(b"0\r\n\r\n" + next_request)
        _read_response(sock, buffer)


if __name__ == "__main__":
    main()

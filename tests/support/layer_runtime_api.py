"""A recording Lambda Runtime API for the layer's tests.

It keeps every byte each request brought, with arrival times, so tests can assert the framing
(request head, chunk boundaries, trailers) and timing of what the runtime sends. h11 parses the
requests: it is an independent HTTP implementation, so our hand-written client cannot agree with
itself by accident.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import h11

PREFIX = "/2018-06-01/runtime"


@dataclass
class Received:
    """One request the runtime made, as it arrived."""

    method: str
    target: str
    headers: list[tuple[str, str]]  # original case and order
    connection: int  # which TCP connection carried it (keep-alive reuse shows as equal numbers)
    started: float  # time.monotonic() of the recv that completed the request head
    raw: bytes = b""  # every byte of the request, head to last trailer
    body: bytes = b""
    data_events: list[tuple[float, bytes]] = field(default_factory=list)  # (arrival, data)
    trailers: list[tuple[str, str]] = field(default_factory=list)
    ended: float = 0.0
    answered: float = 0.0  # time.monotonic() once its reply was sent (0: not yet)

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    @property
    def kind(self) -> str:
        if self.target.endswith("/invocation/next"):
            return "next"
        if self.target == PREFIX + "/init/error":
            return "init_error"
        if self.target == PREFIX + "/restore/next":
            return "restore_next"
        if self.target == PREFIX + "/restore/error":
            return "restore_error"
        return self.target.rsplit("/", 1)[-1]  # "response" or "error"

    @property
    def request_id(self) -> str | None:
        parts = self.target.split("/")
        return parts[4] if len(parts) == 6 and parts[3] == "invocation" else None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Event:
    request_id: str
    body: bytes
    headers: dict[str, str]


class RecordingRuntimeApi:
    """Serve queued events to ``next`` and record everything posted back.

    Each connection is served by its own thread and every waiting ``next`` takes the next
    queued event, so several runtime processes (Managed Instances workers) can poll at once.
    SnapStart's ``restore/next`` answers 200 at once (the restore is immediate here).
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._events: queue.Queue[_Event | None] = queue.Queue()
        self.received: list[Received] = []
        self._changed = threading.Condition()
        self._connections = itertools.count(1)
        self._sockets: list[socket.socket] = []
        self.status_for: dict[str, int] = {}  # kind -> status to answer instead of 202
        # kind -> statuses for the next requests of that kind, in order; then status_for applies
        self.status_sequence: dict[str, list[int]] = {}
        self.invocation_ids: dict[str, str] = {}  # request id -> its Lambda-Runtime-Invocation-Id
        # Clear to stop reading response bodies after their head: a slow client (back-pressure).
        self.reading = threading.Event()
        self.reading.set()
        # request ids whose streamed response connection is reset as soon as its head arrives
        self.reset_response_for: set[str] = set()
        # request ids whose connection is reset shortly after ``next`` handed them over
        self.reset_after_next_for: set[str] = set()
        # kinds after whose reply the server closes the connection (FIN), unread bytes and all
        self.close_after: set[str] = set()
        self.garbage: list[bytes] = []  # raw bytes of anything h11 refused as HTTP
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    # --- test API -------------------------------------------------------------------------

    def push(
        self,
        event: Any = None,
        *,
        request_id: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        deadline_ms: int | None = None,
        invocation_id: str | None = None,
    ) -> str:
        """Queue one invocation; returns its request id.

        Each event carries a ``Lambda-Runtime-Invocation-Id`` (see ``invocation_ids``), which
        the runtime must echo on that invocation's result.
        """
        request_id = request_id or str(uuid.uuid4())
        invocation_id = invocation_id or uuid.uuid4().hex
        self.invocation_ids[request_id] = invocation_id
        body = raw if raw is not None else json.dumps({} if event is None else event).encode()
        all_headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms or int(time.time() * 1000) + 30_000),
            "Lambda-Runtime-Invoked-Function-Arn": (
                "arn:aws:lambda:us-east-1:123456789012:function:test-fn"
            ),
            "Content-Type": "application/json",
            "Lambda-Runtime-Invocation-Id": invocation_id,
            **(headers or {}),
        }
        self._events.put(_Event(request_id, body, all_headers))
        return request_id

    def wait(self, kind: str, request_id: str | None = None, timeout: float = 10) -> Received:
        """The first complete request of ``kind`` (for ``request_id``), waiting for it."""

        def find() -> Received | None:
            for r in self.received:
                if (
                    r.ended
                    and r.kind == kind
                    and (request_id is None or r.request_id == request_id)
                ):
                    return r
            return None

        with self._changed:
            if not self._changed.wait_for(find, timeout):
                kinds = [(r.kind, r.request_id, bool(r.ended)) for r in self.received]
                raise TimeoutError(f"no {kind} for {request_id} within {timeout}s; got {kinds}")
            found = find()
            assert found is not None
            return found

    def result(self, request_id: str, timeout: float = 10) -> Received:
        """The response or error that ended invocation ``request_id``."""

        def find() -> Received | None:
            for r in self.received:
                if r.ended and r.request_id == request_id and r.kind in ("response", "error"):
                    return r
            return None

        with self._changed:
            if not self._changed.wait_for(find, timeout):
                raise TimeoutError(f"no result for {request_id} within {timeout}s")
            found = find()
            assert found is not None
            return found

    def wait_count(self, kind: str, count: int, timeout: float = 10) -> list[Received]:
        """The requests of ``kind`` once ``count`` of them have arrived (heads at least)."""

        def found() -> list[Received]:
            return [r for r in self.received if r.kind == kind]

        with self._changed:
            if not self._changed.wait_for(lambda: len(found()) >= count, timeout):
                raise TimeoutError(f"{len(found())} of {count} {kind} within {timeout}s")
            return found()

    def first_byte(self, request_id: str, kind: str = "response", timeout: float = 10) -> Received:
        """The request as soon as its head has arrived (body may still be streaming)."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: any(r.request_id == request_id and r.kind == kind for r in self.received),
                timeout,
            )
            if not ok:
                raise TimeoutError(f"no {kind} started for {request_id} within {timeout}s")
            return next(r for r in self.received if r.request_id == request_id and r.kind == kind)

    def close(self) -> None:
        self._closed = True
        self.reading.set()
        self._events.put(None)
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def __enter__(self) -> RecordingRuntimeApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- server ---------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(sock)
            number = next(self._connections)
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        conn = h11.Connection(h11.SERVER)
        raw = bytearray()
        current: Received | None = None
        body_parts: list[bytes] = []
        arrived = time.monotonic()
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    if current is not None and current.kind == "response":
                        self.reading.wait()
                    data = sock.recv(65536)
                    arrived = time.monotonic()
                    raw += data
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Request):
                    current = Received(
                        method=event.method.decode(),
                        target=event.target.decode(),
                        headers=[(k.decode(), v.decode()) for k, v in event.headers.raw_items()],
                        connection=number,
                        started=arrived,
                    )
                    self._record(current)
                    if current.kind == "response" and current.request_id in self.reset_response_for:
                        _reset(sock)
                        return
                elif isinstance(event, h11.Data) and current is not None:
                    with self._changed:
                        current.data_events.append((arrived, bytes(event.data)))
                        body_parts.append(bytes(event.data))
                        self._changed.notify_all()
                elif isinstance(event, h11.EndOfMessage) and current is not None:
                    with self._changed:
                        current.trailers = [
                            (k.decode(), v.decode()) for k, v in event.headers.raw_items()
                        ]
                        # what came after this request (a pipelined next) is the next one's
                        leftover = conn.trailing_data[0]
                        current.raw = bytes(raw[: len(raw) - len(leftover)])
                        current.body = b"".join(body_parts)
                        body_parts.clear()
                        current.ended = arrived
                        raw = bytearray(leftover)
                        self._changed.notify_all()
                    if not self._answer(sock, conn, current):
                        return
                    if current.kind in self.close_after:
                        _close_gracefully(sock)
                        return
                    conn.start_next_cycle()
                    current = None
                elif isinstance(event, h11.ConnectionClosed):
                    return
        except h11.ProtocolError:
            with self._changed:
                self.garbage.append(bytes(raw))
                self._changed.notify_all()
            return
        except OSError:
            return
        finally:
            sock.close()

    def _record(self, received: Received) -> None:
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()

    def _answer(self, sock: socket.socket, conn: h11.Connection, request: Received) -> bool:
        if request.kind == "next":
            event = self._next_event(sock)
            if event is None:
                return False
            headers = [*event.headers.items(), ("Content-Length", str(len(event.body)))]
            self._send(sock, conn, 200, headers, event.body)
            if event.request_id in self.reset_after_next_for:
                time.sleep(0.2)  # the runtime has read its event by now
                _reset(sock)
                return False
        elif request.kind == "restore_next":
            status = self._status(request.kind, 200)
            self._send(sock, conn, status, [("Content-Length", "0")], b"")
        else:
            status = self._status(request.kind, 202)
            body = b'{"status":"OK"}\n' if status == 202 else b'{"errorType":"Test.Rejected"}'
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            self._send(sock, conn, status, headers, body)
        with self._changed:
            request.answered = time.monotonic()
            self._changed.notify_all()
        return True

    def _status(self, kind: str, default: int) -> int:
        with self._changed:
            sequence = self.status_sequence.get(kind)
            if sequence:
                return sequence.pop(0)
        return self.status_for.get(kind, default)

    def _next_event(self, sock: socket.socket) -> _Event | None:
        """Wait for an event; never hand one to a runtime that has gone (killed during ``next``)."""
        while True:
            try:
                event = self._events.get(timeout=0.05)
            except queue.Empty:
                if not _alive(sock):
                    return None
                continue
            if event is None:
                self._events.put(None)  # wake every other waiting connection too
                return None
            if _alive(sock):
                return event
            self._events.put(event)
            return None

    @staticmethod
    def _send(
        sock: socket.socket,
        conn: h11.Connection,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        data = conn.send(h11.Response(status_code=status, headers=headers)) or b""
        data += conn.send(h11.Data(data=body)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
        sock.sendall(data)


def chunk(data: bytes) -> bytes:
    """``data`` as one chunk of a chunked body, as the runtime frames each write."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _alive(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def _close_gracefully(sock: socket.socket) -> None:
    """FIN after the reply, then wait for the peer to close: an RST would discard the reply."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(5)
        while sock.recv(65536):
            pass


def _reset(sock: socket.socket) -> None:
    """Close with an RST (linger 0), as a peer that died does: the next send fails at once."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

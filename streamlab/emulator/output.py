"""A runtime's stdout and stderr, forwarded line by line, and drained on demand.

Managed Instances workers write to sockets instead (``WorkerLogs``): Lambda offers
``_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET`` and each worker connects its stdout, then its
stderr, to it, so every stream is read whole and no worker's line is cut by another's.

The end of an invocation reaches the engine over the Runtime API socket, the function's last
log lines over this pipe; the event loop may see either first. ``END`` must still print after
them, as in CloudWatch. asyncio's StreamReader would hold lines in a buffer of its own, so the
pipe is read here instead: ``drain()`` takes whatever the runtime has already written,
synchronously, in order, before the engine logs ``END``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

LINE_LIMIT = 1024 * 1024  # a longer line is forwarded in pieces of this size


class RuntimeOutput(asyncio.Protocol):
    """Reads the read end of the pipe the runtime writes its stdout and stderr to."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._partial = bytearray()
        self._fd: int | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    async def open(cls, emit: Callable[[str], None]) -> tuple[RuntimeOutput, int]:
        """A new pipe: returns the protocol reading it and the write end for the runtime."""
        read_fd, write_fd = os.pipe()
        output = cls(emit)
        output._fd = read_fd
        pipe = os.fdopen(read_fd, "rb", buffering=0)
        await asyncio.get_running_loop().connect_read_pipe(lambda: output, pipe)
        return output, write_fd

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._fd is None:  # a socket (a worker's stream): drained through its descriptor
            sock = transport.get_extra_info("socket")
            self._fd = sock.fileno() if sock is not None else None

    def data_received(self, data: bytes) -> None:
        self._feed(data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._fd = None
        if self._partial:
            self._line(bytes(self._partial))
            self._partial.clear()
        if not self.closed.done():
            self.closed.set_result(None)

    def drain(self) -> None:
        """Forward what the runtime has written but the event loop has not read yet."""
        while self._fd is not None:
            try:
                data = os.read(self._fd, 65536)
            except OSError:  # BlockingIOError: nothing more; anything else: the pipe is gone
                return
            if not data:
                return
            self._feed(data)

    def _feed(self, data: bytes) -> None:
        self._partial += data
        *lines, rest = self._partial.split(b"\n")
        for line in lines:
            self._line(line)
        while len(rest) > LINE_LIMIT:
            self._line(rest[:LINE_LIMIT])
            rest = rest[LINE_LIMIT:]
        self._partial = bytearray(rest)

    def _line(self, line: bytes | bytearray) -> None:
        # The stock Python client prints multi-line records (stack traces) with CR for LF.
        for part in line.decode("utf-8", "replace").rstrip("\r").split("\r"):
            self._emit(part)


class WorkerLogs:
    """The log socket of one environment (``_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET``): each
    connection is one worker's stdout or stderr, forwarded line by line like the pipe."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._directory = Path(tempfile.mkdtemp(prefix="streamlab-logs-"))
        self.path = str(self._directory / "telemetry.sock")
        self._streams: list[RuntimeOutput] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(self._accept, self.path)

    def _accept(self) -> RuntimeOutput:
        stream = RuntimeOutput(self._emit)
        self._streams.append(stream)
        return stream

    def drain(self) -> None:
        """Forward what every worker has written but the event loop has not read yet."""
        for stream in self._streams:
            stream.drain()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None
        for stream in self._streams:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(stream.closed), 1)
        shutil.rmtree(self._directory, ignore_errors=True)

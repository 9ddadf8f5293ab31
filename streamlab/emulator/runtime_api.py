"""A local Lambda Runtime API: the server side of the loop every runtime runs.

One server per execution environment, as in Lambda: the runtime finds it through
``AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT``. This module holds the environment's side: the
events waiting for a ``next``, the runtime's polls waiting for an event, the invocations in
flight, and whether init failed. The wire is ``runtime_http`` (framing) and
``runtime_routes`` (what each request of the 2018-06-01 API does); an invocation's events
travel through ``invocation_queue``.

Usage::

    server = RuntimeApiServer(function_name="Fn")
    await server.start()                      # port 0: a free port; see server.address
    invocation = server.submit(b'{"x": 1}', timeout_s=3)
    async for event in invocation:            # ResponseHead, BodyChunk*, InvocationEnd
        ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import Callable

from streamlab.emulator.invocation import FunctionError, function_error
from streamlab.emulator.invocation_queue import Invocation
from streamlab.emulator.limits import LAMBDA_LIMITS, Limits
from streamlab.emulator.runtime_http import RuntimeConnection
from streamlab.emulator.runtime_routes import NextPoll, route


class RuntimeApiServer:
    """The Runtime API of one execution environment."""

    def __init__(
        self,
        *,
        function_name: str = "function",
        region: str = "us-east-1",
        account_id: str = "000000000000",
        host: str = "127.0.0.1",
        limits: Limits = LAMBDA_LIMITS,
    ) -> None:
        self.host = host
        self.port = 0
        self.function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        # What the runtime may send as one response (None: no limit).
        self.buffered_limit = limits.buffered_response
        self.streamed_limit = limits.streamed_response
        self.first_poll_at: float | None = None  # time.monotonic() of the first ``next``: init done
        self.init_error: FunctionError | None = None
        # A stream's connection closed before its end: the environment decides what it means.
        self.on_truncated: Callable[[Invocation], None] = _truncated
        self._queue: deque[Invocation] = deque()
        self._active: dict[str, Invocation] = {}
        self._pollers: deque[NextPoll] = deque()
        self._awaited: dict[str, Callable[[], None]] = {}
        self._connections: set[RuntimeConnection] = set()
        self._server: asyncio.Server | None = None
        self._ready: asyncio.Event | None = None
        self._init_failed: asyncio.Event | None = None

    @property
    def address(self) -> str:
        """The value for ``AWS_LAMBDA_RUNTIME_API``."""
        return f"{self.host}:{self.port}"

    async def start(self, port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        self._init_failed = asyncio.Event()
        self._server = await loop.create_server(self._connect, self.host, port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self, error: FunctionError | None = None) -> None:
        """Closes every connection; unfinished invocations end with ``error``."""
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.close()
        leftover = error or function_error("Runtime.ExitError", "The execution environment stopped")
        for invocation in [*self._queue, *self._active.values()]:
            invocation.finish(leftover)
        self._queue.clear()
        self._active.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def wait_ready(self) -> None:
        """Returns once the runtime first asks for an event (its init is over)."""
        assert self._ready is not None, "start() first"
        await self._ready.wait()

    async def wait_init_failed(self) -> FunctionError:
        assert self._init_failed is not None, "start() first"
        await self._init_failed.wait()
        assert self.init_error is not None
        return self.init_error

    def submit(
        self,
        payload: bytes,
        *,
        timeout_s: float = 3.0,
        request_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
    ) -> Invocation:
        """Queues an event for the runtime's next ``next`` (answered at once if it waits)."""
        invocation = Invocation(
            payload,
            timeout_s=timeout_s,
            request_id=request_id,
            client_context=client_context,
            cognito_identity=cognito_identity,
        )
        self.enqueue(invocation)
        return invocation

    def enqueue(self, invocation: Invocation) -> None:
        """Like ``submit``, for an Invocation built beforehand."""
        if invocation.ended:
            return
        invocation.add_end_callback(self._forget)
        if self.init_error is not None:
            invocation.finish(self.init_error)
            return
        self._active[invocation.request_id] = invocation
        while self._pollers:
            poller = self._pollers.popleft()
            if poller.alive:
                poller.answer(invocation)
                return
        self._queue.append(invocation)

    # what the routes ask of the environment

    def active(self, request_id: str) -> Invocation | None:
        """The invocation in flight with that id, if any."""
        return self._active.get(request_id)

    def poll(self, poller: NextPoll) -> None:
        """The runtime asks for an event: the oldest queued one, or the next to come."""
        if self.first_poll_at is None:
            self.first_poll_at = time.monotonic()
            assert self._ready is not None
            self._ready.set()
        if self._queue:
            poller.answer(self._queue.popleft())
        else:
            self._pollers.append(poller)

    def when_answered(self, request_id: str, callback: Callable[[], None]) -> None:
        """``callback()`` once the runtime answers for an invocation that already ended (a
        timed-out one whose worker ran on): its worker is free again."""
        self._awaited[request_id] = callback

    def answered(self, request_id: str) -> None:
        """The runtime has answered for ``request_id`` (accepted or refused)."""
        callback = self._awaited.pop(request_id, None)
        if callback is not None:
            callback()

    def fail_init(self, error: FunctionError) -> None:
        """The runtime reported a failed init: what waits for it fails with that error."""
        self.init_error = error
        for invocation in list(self._queue):
            invocation.finish(error)
        assert self._init_failed is not None
        self._init_failed.set()

    def _connect(self) -> RuntimeConnection:
        connection = RuntimeConnection(functools.partial(route, self), self._connections.discard)
        self._connections.add(connection)
        return connection

    def _forget(self, invocation: Invocation) -> None:
        self._active.pop(invocation.request_id, None)
        if invocation.dispatched_at is None:
            with contextlib.suppress(ValueError):
                self._queue.remove(invocation)


def _truncated(invocation: Invocation) -> None:
    invocation.finish(
        function_error(
            "Runtime.TruncatedResponse",
            "The runtime closed its connection before the response was complete",
        )
    )

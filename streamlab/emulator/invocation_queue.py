"""One invocation between the Runtime API and whoever follows it: its events, queued.

The Runtime API side produces (``mark_dispatched``, ``open_response``, ``push_body``,
``finish``); a front consumes by iterating. The queue sits between them so nothing is lost
when the consumer is slow or starts late, and it pushes back: past a backlog it pauses
reading the runtime's socket (TCP then slows the runtime's writes) until the consumer
catches up. A consumer that leaves (``detach``) stops the queueing, not the function.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol

from streamlab.emulator.invocation import (
    BodyChunk,
    FunctionError,
    InvocationEnd,
    InvocationEvent,
    ResponseHead,
)

# While a consumer lags behind a streaming runtime, stop reading its socket instead of
# holding an unbounded backlog.
PAUSE_AT = 4 * 1024 * 1024
RESUME_AT = 1024 * 1024

log = logging.getLogger(__name__)


class FlowControl(Protocol):
    """What the queue needs of the connection a stream arrives on (an asyncio.Transport)."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class Invocation:
    """One event for the runtime; iterate it to follow the response as it arrives.

    It ends exactly once: by the runtime, or by ``finish`` (timeout, crash, shutdown).
    """

    def __init__(
        self,
        payload: bytes,
        *,
        timeout_s: float = 3.0,
        request_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
    ) -> None:
        self.payload = payload
        self.request_id = request_id or str(uuid.uuid4())
        # Lambda's cross-wiring guard: sent with the event, echoed on its result (a result
        # without it is accepted, as from clients that predate it).
        self.invocation_id = uuid.uuid4().hex
        self.timeout_s = timeout_s
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.dispatched_at: float | None = None  # time.monotonic() when the runtime took it
        self.ended_at: float | None = None
        self.error: FunctionError | None = None
        loop = asyncio.get_running_loop()
        self._dispatched: asyncio.Future[None] = loop.create_future()
        self._ended: asyncio.Future[None] = loop.create_future()
        self._events: deque[InvocationEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._backlog = 0
        self._flow: FlowControl | None = None
        self._end_callbacks: list[Callable[[Invocation], None]] = []
        self._dispatch_callbacks: list[Callable[[Invocation], None]] = []
        self._exhausted = False
        self._detached = False

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    # the Runtime API's side

    def mark_dispatched(self) -> None:
        """The runtime took this event through ``next``."""
        self.dispatched_at = time.monotonic()
        callbacks, self._dispatch_callbacks = self._dispatch_callbacks, []
        for callback in callbacks:
            callback(self)
        if not self._dispatched.done():
            self._dispatched.set_result(None)

    def open_response(self, head: ResponseHead, flow: FlowControl | None = None) -> None:
        """The runtime started its response; a stream names the connection to slow down."""
        self._flow = flow
        self._push(head)

    def push_body(self, data: bytes) -> None:
        self._push(BodyChunk(data))

    def finish(self, error: FunctionError | None = None) -> bool:
        """Ends the invocation unless it already ended; returns whether this call ended it."""
        if self.ended_at is not None:
            return False
        self.ended_at = time.monotonic()
        self.error = error
        # Callbacks run before the consumer can see the end: whoever reacts to it (a client
        # sending its next request) finds the bookkeeping done (pool, logs, concurrency).
        for callback in self._end_callbacks:
            try:
                callback(self)
            except Exception:
                log.exception("Invocation end callback failed")
        self._end_callbacks.clear()
        self._push(InvocationEnd(error))
        flow, self._flow = self._flow, None
        if flow is not None:
            flow.resume_reading()
        self._ended.set_result(None)
        return True

    # the consumer's side

    async def wait_dispatched(self) -> None:
        """Returns once the runtime has taken this event through ``next``."""
        await asyncio.shield(self._dispatched)

    async def wait_ended(self) -> None:
        """Returns once the invocation ended, whether or not anyone reads its events."""
        await asyncio.shield(self._ended)

    def add_dispatch_callback(self, callback: Callable[[Invocation], None]) -> None:
        """``callback(invocation)`` runs synchronously as the event goes to the runtime,
        before the runtime can print a line about it."""
        if self.dispatched_at is not None:
            callback(self)
        else:
            self._dispatch_callbacks.append(callback)

    def add_end_callback(self, callback: Callable[[Invocation], None]) -> None:
        """``callback(invocation)`` runs synchronously as the invocation ends."""
        if self.ended_at is not None:
            callback(self)
        else:
            self._end_callbacks.append(callback)

    def detach(self) -> None:
        """The consumer is gone (client disconnect): drop its events from now on.

        The runtime is not told: as in AWS, the function runs on and what it sends is
        read and discarded, so it never blocks on a full socket.
        """
        if self._detached:
            return
        self._detached = True
        self._events.clear()
        self._backlog = 0
        if self._flow is not None:
            self._flow.resume_reading()

    def __aiter__(self) -> Invocation:
        return self

    async def __anext__(self) -> InvocationEvent:
        while not self._events:
            if self._exhausted:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        event = self._events.popleft()
        if type(event) is BodyChunk:
            self._backlog -= len(event.data)
            if self._backlog < RESUME_AT and self._flow is not None:
                self._flow.resume_reading()
        elif type(event) is InvocationEnd:
            self._exhausted = True
        return event

    def _push(self, event: InvocationEvent) -> None:
        if self._detached and type(event) is not InvocationEnd:
            return
        self._events.append(event)
        if type(event) is BodyChunk:
            self._backlog += len(event.data)
            if self._backlog > PAUSE_AT and self._flow is not None:
                self._flow.pause_reading()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

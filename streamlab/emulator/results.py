"""Collecting an invocation that the caller wants whole (BUFFERED URLs, ``Invoke``).

Shared by every front so that the buffered response limit (``limits.py``) and its error read
the same whichever way a function was called.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from streamlab.emulator.invocation import (
    BodyChunk,
    Engine,
    FunctionError,
    InvocationEnd,
    InvocationEvent,
    ResponseHead,
)
from streamlab.emulator.limits import MAX_BUFFERED_RESPONSE


def too_large_error(size: int, limit: int) -> FunctionError:
    message = (
        f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
        f"({limit} bytes)."
    )
    document = {"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}
    return FunctionError(
        error_type="Function.ResponseSizeTooLarge",
        error_message=message,
        payload=json.dumps(document).encode(),
    )


@dataclass(frozen=True)
class BufferedResult:
    head: ResponseHead | None
    body: bytes
    error: FunctionError | None


async def collect(
    events: AsyncIterator[InvocationEvent], limit: int | None = MAX_BUFFERED_RESPONSE
) -> BufferedResult:
    """Read an invocation to its end; past ``limit`` bytes (None: no limit) the result
    becomes an error.

    Reading continues after the limit is crossed (without keeping the bytes) so that the
    invocation ends normally in the engine.
    """
    head: ResponseHead | None = None
    parts: list[bytes] = []
    size = 0
    error: FunctionError | None = None
    async for event in events:
        if isinstance(event, ResponseHead):
            head = event
        elif isinstance(event, BodyChunk):
            size += len(event.data)
            if limit is None or size <= limit:
                parts.append(event.data)
        elif isinstance(event, InvocationEnd):
            error = event.error
            break
    if error is None and limit is not None and size > limit:
        error = too_large_error(size, limit)
        parts = []
    return BufferedResult(head=head, body=b"".join(parts), error=error)


class StartedInvocation:
    """An invocation whose first event has been read, replayed in front of the rest."""

    def __init__(self, first: InvocationEvent, rest: AsyncIterator[InvocationEvent]) -> None:
        self._first: InvocationEvent | None = first
        self._rest = rest

    def __aiter__(self) -> StartedInvocation:
        return self

    async def __anext__(self) -> InvocationEvent:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return await self._rest.__anext__()

    async def aclose(self) -> None:
        """Tell the engine we stopped listening; it drains the function on its own."""
        close = getattr(self._rest, "aclose", None)
        if close is not None:
            await close()


async def start_invocation(
    engine: Engine,
    function_name: str,
    payload: bytes,
    *,
    client_context: str | None = None,
    request_id: str | None = None,
) -> StartedInvocation:
    """Start an invocation and read its first event.

    Engines may raise TooManyRequests/UnknownFunction when called or on the first read
    (an async generator raises only then); either way it surfaces here, before any
    response has been started.
    """
    events = aiter(
        engine.invoke(function_name, payload, client_context=client_context, request_id=request_id)
    )
    try:
        first = await anext(events)
    except StopAsyncIteration:
        first = InvocationEnd(
            FunctionError(
                error_type="Runtime.Unknown",
                error_message="the invocation ended without a result",
                payload=b'{"errorMessage":"the invocation ended without a result",'
                b'"errorType":"Runtime.Unknown"}',
            )
        )
    return StartedInvocation(first, events)

"""Relays a streamed invocation to an HTTP client: shared by the Function URL and REST fronts.

Every chunk is forwarded the moment the runtime sends it (chunked transfer encoding, one write
per chunk), unless the front's bandwidth cap (``limits.py``) says to wait: past the uncapped
burst the bytes go out in paced pieces, as Lambda shapes them. The status and headers come
from the JSON prelude when there is one. Once bytes have gone out the status is spent, so a
failure mid-stream can only cut the body: the connection is closed without the terminating
zero-length chunk, which every HTTP client reports as a truncated transfer. The fronts differ
only in how they open the response, what their 502 looks like, whether a prelude is
required, their timeouts and their bandwidth.

A HEAD answer ends with its head (RFC 9110 9.3.2): the body the function writes is dropped,
and the function runs on unfollowed, as after a client disconnect, so the connection is free
for the client's next request at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from streamlab.emulator.invocation import BodyChunk, InvocationEnd, InvocationEvent, ResponseHead
from streamlab.emulator.limits import Bandwidth, Throttle, paced
from streamlab.emulator.prelude import (
    INTEGRATION_CONTENT_TYPE,
    HttpHead,
    PreludeReader,
    ResultError,
    parse_prelude,
)

log = logging.getLogger("streamlab.emulator")


@dataclass(frozen=True)
class RelayRules:
    """How one front treats a stream."""

    label: str  # for logs: function (and front) name
    request_id: str
    # Opens the client's response with this head (from the prelude, or for a plain stream
    # from the runtime's content type).
    open_stream: Callable[[HttpHead], Awaitable[web.StreamResponse]]
    bad_gateway: Callable[[str], web.StreamResponse]
    parse_prelude: Callable[[bytes], HttpHead] = parse_prelude
    prelude_always: bool = False  # REST: the gateway expects a prelude whatever the type
    idle_timeout_s: float | None = None  # REST: no bytes for this long cuts the stream
    total_timeout_s: float | None = None  # REST: 15 minutes
    bandwidth: Bandwidth | None = None  # the front's streaming cap (limits.py); None: none


async def relay(
    request: web.Request,
    events: AsyncIterator[InvocationEvent],
    rules: RelayRules,
) -> web.StreamResponse:
    prelude: PreludeReader | None = None
    response: web.StreamResponse | None = None
    content_type: str | None = None
    sent = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + rules.total_timeout_s if rules.total_timeout_s else None
    iterator = aiter(events)
    throttle = Throttle(rules.bandwidth) if rules.bandwidth is not None else None
    while True:
        timeout = rules.idle_timeout_s
        if deadline is not None:
            remaining = max(0.0, deadline - loop.time())
            timeout = remaining if timeout is None else min(timeout, remaining)
        try:
            if timeout is None:
                event = await anext(iterator)
            else:
                event = await asyncio.wait_for(anext(iterator), timeout)
        except StopAsyncIteration:
            break
        except TimeoutError:
            why = "integration timed out (no data within the idle timeout or past 15 minutes)"
            if response is None:
                return rules.bad_gateway(why)
            log.error(
                "%s %s: stream cut after %d bytes: %s", rules.label, rules.request_id, sent, why
            )
            cut(request)
            return response
        if isinstance(event, ResponseHead):
            content_type = event.content_type
            if content_type == INTEGRATION_CONTENT_TYPE or rules.prelude_always:
                prelude = PreludeReader(rules.parse_prelude)
        elif isinstance(event, BodyChunk):
            data = event.data
            if response is None:
                if prelude is not None:
                    try:
                        parsed = prelude.feed(data)
                    except ResultError as exc:
                        return rules.bad_gateway(str(exc))
                    if parsed is None:
                        continue
                    head, data = parsed
                else:
                    head = plain_stream_head(content_type)
                response = await rules.open_stream(head)
                if request.method == "HEAD":
                    return await _end(response)
            if data:
                try:
                    async for piece in paced(data, throttle):
                        await response.write(piece)
                        sent += len(piece)
                except ConnectionError:
                    log.info(
                        "%s %s: client disconnected after %d bytes",
                        rules.label,
                        rules.request_id,
                        sent,
                    )
                    return response
        elif isinstance(event, InvocationEnd):
            if event.error is None:
                break
            why = f"{event.error.error_type}: {event.error.error_message}"
            if response is None:
                return rules.bad_gateway(why)
            log.error(
                "%s %s: response stream cut after %d body bytes: %s",
                rules.label,
                rules.request_id,
                sent,
                why,
            )
            cut(request)
            return response
    if response is None:
        if prelude is not None and (prelude.pending or rules.prelude_always):
            return rules.bad_gateway("stream ended before the prelude delimiter")
        head = HttpHead(200, ()) if prelude is not None else plain_stream_head(content_type)
        response = await rules.open_stream(head)
    return await _end(response)


async def _end(response: web.StreamResponse) -> web.StreamResponse:
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


def plain_stream_head(content_type: str | None) -> HttpHead:
    return HttpHead(200, (("Content-Type", content_type or "application/octet-stream"),))


def cut(request: web.Request) -> None:
    """End the body without its terminating chunk: close the connection after what was sent."""
    if request.transport is not None:
        request.transport.close()

"""Lambda's response and request limits, in one place, with where each figure comes from.

"It works under ``streamlab serve``" should mean "it will behave so on Lambda", so the
emulator keeps these by default; ``streamlab serve --no-limits`` lifts the bandwidth and
response size caps (``NO_LIMITS``) for quick local work. Request payloads stay capped either
way: they bound what a function can be sent, not how fast or how much it answers.

Sources:

- Lambda response streaming, "Bandwidth limits for response streaming": the first 6 MB of a
  response uncapped, then at most 2 MBps; up to 200 MB streamed, 6 MB buffered.
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html
- API Gateway REST APIs streaming a proxy integration ("Considerations for response payload
  streaming"): the first 10 MB unthrottled, then 2 MB/s.
  https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html
- Lambda quotas: 6 MB invocation payload, request and response (synchronous).
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
- AWS's Runtime Interface Emulator, Lambda's own Managed Instances code
  (github.com/aws/aws-lambda-runtime-interface-emulator,
  ``internal/lambda-managed-instances/interop/model.go`` and ``core/bandwidthlimiter``): the
  same caps in bytes, ``ResponseBandwidthBurstSize = 6 * 1024 * 1024``,
  ``ResponseBandwidthRate = 2 * 1024 * 1024``, ``MaxPayloadSize = 6*1024*1024 + 100``, shaped
  by a token bucket that holds the burst, starts full with the first write and refills at the
  rate; the caller of an invoke passes its own rate and burst (between 32 KiB and 64 MiB),
  which is how API Gateway gets its 10 MB. So "MB" here is MiB, as Lambda's code counts it.
- The error messages Lambda sends name the exact byte counts: buffered responses "exceeded
  maximum allowed payload size (6291556 bytes)", requests "must be smaller than 6291456 bytes
  for the InvokeFunction operation".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Bandwidth:
    """How fast a streamed response may reach its client: ``burst`` bytes at once, then
    ``rate`` bytes a second (a token bucket of ``burst`` bytes, refilled at ``rate``)."""

    burst: int
    rate: int

    def describe(self) -> str:
        return f"{_size(self.burst)} uncapped, then {_size(self.rate)}/s"


@dataclass(frozen=True)
class Limits:
    """The caps the emulator keeps; None lifts one."""

    url_stream: Bandwidth | None  # Function URLs and InvokeWithResponseStream
    rest_stream: Bandwidth | None  # an API Gateway REST API streaming its integration
    streamed_response: int | None  # bytes a streamed response may carry
    buffered_response: int | None  # bytes a buffered response may carry
    request_payload: int  # bytes of an event (always kept)

    def describe(self) -> str:
        """One line for the banner: which limits are in force."""
        if self == LAMBDA_LIMITS:
            head = "limits as on Lambda (--no-limits lifts the caps)"
        elif self == NO_LIMITS:
            head = "limits lifted (--no-limits)"
        else:
            head = "limits (custom)"
        parts = [
            "Function URL / InvokeWithResponseStream "
            + (self.url_stream.describe() if self.url_stream else "uncapped"),
            "REST stage " + (self.rest_stream.describe() if self.rest_stream else "uncapped"),
            "streamed responses "
            + (f"up to {_size(self.streamed_response)}" if self.streamed_response else "unbounded"),
            "buffered responses "
            + (f"up to {self.buffered_response} bytes" if self.buffered_response else "unbounded"),
            f"requests up to {self.request_payload} bytes",
        ]
        return f"{head}: " + "; ".join(parts)


def _size(count: int) -> str:
    return f"{count / MIB:g} MiB" if count % (MIB // 4) == 0 else f"{count} bytes"


MAX_REQUEST_PAYLOAD = 6291456
MAX_BUFFERED_RESPONSE = 6 * MIB + 100  # 6291556, as Lambda's error message states it

LAMBDA_LIMITS = Limits(
    url_stream=Bandwidth(burst=6 * MIB, rate=2 * MIB),
    rest_stream=Bandwidth(burst=10 * MIB, rate=2 * MIB),
    streamed_response=200 * MIB,
    buffered_response=MAX_BUFFERED_RESPONSE,
    request_payload=MAX_REQUEST_PAYLOAD,
)
NO_LIMITS = Limits(
    url_stream=None,
    rest_stream=None,
    streamed_response=None,
    buffered_response=None,
    request_payload=MAX_REQUEST_PAYLOAD,
)


class Throttle:
    """Paces one streamed response as Lambda does: a token bucket of ``burst`` bytes, full at
    the first byte, refilled at ``rate`` bytes a second (so a response that pauses earns back
    up to one burst). ``delay(n)`` is how long to wait before sending the next ``n`` bytes;
    waits add up in order, so a caller that sleeps them never exceeds the cap."""

    def __init__(self, bandwidth: Bandwidth, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = bandwidth.burst
        self.rate = bandwidth.rate
        self._clock = clock
        self._tokens = float(bandwidth.burst)
        self._at: float | None = None

    def delay(self, count: int) -> float:
        now = self._clock()
        if self._at is not None:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= count  # below zero: a debt the wait pays off
        return max(0.0, -self._tokens / self.rate)


PIECE = 64 * 1024  # a paced response goes out in pieces this size, so it flows evenly


async def paced(data: bytes, throttle: Throttle | None) -> AsyncIterator[bytes]:
    """``data`` in pieces, each released when ``throttle`` allows it (all at once without
    one). The caller writes each piece before asking for the next, so a slow client still
    pushes back: the pacing only ever adds waits."""
    if throttle is None:
        yield data
        return
    view = memoryview(data)
    for start in range(0, len(view), PIECE):
        piece = view[start : start + PIECE]
        wait = throttle.delay(len(piece))
        if wait > 0:
            await asyncio.sleep(wait)
        yield bytes(piece)

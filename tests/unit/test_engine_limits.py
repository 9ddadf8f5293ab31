"""The limits the emulator keeps by default are Lambda's documented ones, and the token bucket
that paces a stream gives Lambda's timings."""

from __future__ import annotations

import asyncio

from streamlab import cli
from streamlab.emulator.limits import (
    LAMBDA_LIMITS,
    MIB,
    NO_LIMITS,
    PIECE,
    Bandwidth,
    Throttle,
    paced,
)


def test_the_default_caps_are_lambdas() -> None:
    assert MIB == 1024 * 1024
    assert LAMBDA_LIMITS.url_stream == Bandwidth(burst=6 * MIB, rate=2 * MIB)
    assert LAMBDA_LIMITS.rest_stream == Bandwidth(burst=10 * MIB, rate=2 * MIB)
    assert LAMBDA_LIMITS.streamed_response == 200 * MIB
    assert LAMBDA_LIMITS.buffered_response == 6291556
    assert LAMBDA_LIMITS.request_payload == 6291456


def test_no_limits_lifts_the_caps_but_not_the_request_limit() -> None:
    assert NO_LIMITS.url_stream is None and NO_LIMITS.rest_stream is None
    assert NO_LIMITS.streamed_response is None and NO_LIMITS.buffered_response is None
    assert NO_LIMITS.request_payload == LAMBDA_LIMITS.request_payload


def test_serve_keeps_the_limits_unless_told_not_to() -> None:
    assert cli.build_parser().parse_args(["serve"]).no_limits is False
    assert cli.build_parser().parse_args(["serve", "--no-limits"]).no_limits is True


def test_the_banner_says_which_limits_are_in_force() -> None:
    on = LAMBDA_LIMITS.describe()
    assert on.startswith("limits as on Lambda")
    assert "Function URL / InvokeWithResponseStream 6 MiB uncapped, then 2 MiB/s" in on
    assert "REST stage 10 MiB uncapped, then 2 MiB/s" in on
    assert "streamed responses up to 200 MiB" in on
    assert "buffered responses up to 6291556 bytes" in on
    off = NO_LIMITS.describe()
    assert off.startswith("limits lifted (--no-limits)")
    assert "uncapped" in off and "requests up to 6291456 bytes" in off


def seconds_to_send(total: int, bandwidth: Bandwidth, write: int = PIECE) -> float:
    """Simulated time for a writer that sends as fast as the bucket lets it."""
    clock = [0.0]
    throttle = Throttle(bandwidth, clock=lambda: clock[0])
    sent = 0
    while sent < total:
        count = min(write, total - sent)
        clock[0] += throttle.delay(count)
        sent += count
    return clock[0]


def test_twenty_mib_takes_what_lambda_gives() -> None:
    size = 20 * MIB
    assert abs(seconds_to_send(size, LAMBDA_LIMITS.url_stream) - 7.0) < 0.05  # type: ignore[arg-type]
    assert abs(seconds_to_send(size, LAMBDA_LIMITS.rest_stream) - 5.0) < 0.05  # type: ignore[arg-type]
    assert seconds_to_send(6 * MIB, LAMBDA_LIMITS.url_stream) == 0.0  # type: ignore[arg-type]


def test_a_pause_earns_back_at_most_one_burst() -> None:
    bandwidth = Bandwidth(burst=MIB, rate=MIB)
    clock = [0.0]
    throttle = Throttle(bandwidth, clock=lambda: clock[0])
    assert throttle.delay(MIB) == 0.0  # the burst
    assert throttle.delay(MIB // 2) == 0.5  # then the rate
    clock[0] += 0.5 + 10.0  # a long pause refills the bucket, but only to its size
    assert throttle.delay(MIB) == 0.0
    assert throttle.delay(MIB // 4) == 0.25


def test_paced_pieces_wait_only_past_the_burst() -> None:
    async def scenario() -> list[int]:
        throttle = Throttle(Bandwidth(burst=2 * PIECE, rate=64 * PIECE))
        loop = asyncio.get_running_loop()
        began = loop.time()
        sizes = [len(piece) async for piece in paced(b"x" * (6 * PIECE), throttle)]
        assert 0.055 <= loop.time() - began < 0.5  # 4 pieces past the burst at 64 a second
        return sizes

    assert asyncio.run(scenario()) == [PIECE] * 6

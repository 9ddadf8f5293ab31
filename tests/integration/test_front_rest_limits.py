"""The REST front's limits over real HTTP, with a scripted engine and shortened clocks:
a stream idle too long or running too long is cut, a buffered integration too slow is a 504,
and a stream that never sends its prelude is a 502 (API Gateway needs it to start)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
import requests
from aiohttp import web

from streamlab.emulator.invocation import BodyChunk, InvocationEnd, InvocationEvent, ResponseHead
from streamlab.emulator.rest_api import RestApiStage
from streamlab.emulator.rest_spec import RestApi, RestRoute
from tests.support.front_scripted_engine import PRELUDE_TYPE, ScriptedEngine, prelude, spec
from tests.support.front_server import _loop_thread

TIMEOUT = 10


def paced(*pauses: float, plain: bool = False) -> object:
    """A stream: prelude + "0", then after each pause one more digit."""

    async def script(payload: bytes) -> AsyncIterator[InvocationEvent]:
        yield ResponseHead(streaming=True, content_type="text/plain" if plain else PRELUDE_TYPE)
        first = b"0" if plain else prelude(200, {"Content-Type": "text/plain"}) + b"0"
        yield BodyChunk(first)
        for index, pause in enumerate(pauses, 1):
            await asyncio.sleep(pause)
            yield BodyChunk(str(index).encode())
        yield InvocationEnd()

    return script


def slow_buffered(pause: float) -> object:
    async def script(payload: bytes) -> AsyncIterator[InvocationEvent]:
        await asyncio.sleep(pause)
        yield ResponseHead(streaming=False, content_type="application/json")
        yield BodyChunk(b'{"statusCode": 200, "body": "late"}')
        yield InvocationEnd()

    return script


def late_stream(pause: float) -> object:
    async def script(payload: bytes) -> AsyncIterator[InvocationEvent]:
        await asyncio.sleep(pause)
        yield ResponseHead(streaming=True, content_type=PRELUDE_TYPE)
        yield BodyChunk(prelude(200) + b"late")
        yield InvocationEnd()

    return script


@contextmanager
def stage(**limits: float) -> Iterator[str]:
    engine = ScriptedEngine(
        {
            "Idle": (spec("Idle", None), paced(0.1, 0.8)),
            "Long": (spec("Long", None), paced(*([0.15] * 10))),
            "Plain": (spec("Plain", None), paced(plain=True)),
            "Slow": (spec("Slow", None), slow_buffered(0.8)),
            "LateStream": (spec("LateStream", None), late_stream(0.8)),
        }
    )
    routes = (
        RestRoute("Idle", "GET", "/idle", "RESPONSE_STREAM"),
        RestRoute("Long", "GET", "/long", "RESPONSE_STREAM"),
        RestRoute("Plain", "GET", "/plain", "RESPONSE_STREAM"),
        RestRoute("Slow", "GET", "/slow", "BUFFERED"),
        RestRoute("LateStream", "GET", "/late-stream", "RESPONSE_STREAM"),
    )
    front = RestApiStage(engine, RestApi("Api", "test", routes), None, **limits)
    app = web.Application()
    front.add_routes(app)
    with _loop_thread() as loop:
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        asyncio.run_coroutine_threadsafe(runner.setup(), loop).result(10)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        asyncio.run_coroutine_threadsafe(site.start(), loop).result(10)
        port = runner.addresses[0][1]
        try:
            yield f"http://127.0.0.1:{port}/Api/test"
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)


def read_until_cut(url: str) -> bytes:
    received = b""
    with (
        pytest.raises(requests.exceptions.ChunkedEncodingError),
        requests.get(url, stream=True, timeout=TIMEOUT) as response,
    ):
        assert response.status_code == 200
        for data in response.iter_content(chunk_size=None):
            received += data
    return received


def test_idle_stream_is_cut_after_the_idle_timeout() -> None:
    with stage(stream_idle_timeout_s=0.5) as base:
        started = time.monotonic()
        assert read_until_cut(f"{base}/idle") == b"01"
        assert 0.5 <= time.monotonic() - started < 1.5
    with stage(stream_idle_timeout_s=2.0) as base:  # the same function within the limit
        assert requests.get(f"{base}/idle", timeout=TIMEOUT).content == b"012"


def test_stream_is_cut_at_the_total_limit_even_when_never_idle() -> None:
    with stage(stream_idle_timeout_s=1.0, stream_total_timeout_s=0.7) as base:
        received = read_until_cut(f"{base}/long")
        assert received.startswith(b"0123") and len(received) < 11


def test_a_function_silent_from_the_start_is_a_504() -> None:
    with stage(stream_idle_timeout_s=0.3, buffered_timeout_s=0.3) as base:
        response = requests.get(f"{base}/late-stream", timeout=TIMEOUT)
        assert response.status_code == 504
        assert response.json() == {"message": "Endpoint request timed out"}


def test_stream_without_a_prelude_is_a_502() -> None:
    with stage() as base:
        response = requests.get(f"{base}/plain", timeout=TIMEOUT)
        assert response.status_code == 502
        assert response.json() == {"message": "Internal server error"}


def test_slow_buffered_integration_is_a_504() -> None:
    with stage(buffered_timeout_s=0.3) as base:
        response = requests.get(f"{base}/slow", timeout=TIMEOUT)
        assert response.status_code == 504
        assert response.json() == {"message": "Endpoint request timed out"}
    with stage(buffered_timeout_s=2.0) as base:
        assert requests.get(f"{base}/slow", timeout=TIMEOUT).content == b"late"

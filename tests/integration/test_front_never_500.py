"""Nothing a function sends and no fault of the emulator's answers 500 or a mis-framed body:
a response that cannot go on the wire is a 502 (AWS's body), one already started is cut."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import requests
from aiohttp import web

from streamlab.emulator.function_url import BAD_GATEWAY_BODY
from streamlab.emulator.invocation import BodyChunk, InvocationEvent, ResponseHead
from tests.support.front_scripted_engine import (
    PRELUDE_TYPE,
    ScriptedEngine,
    buffered,
    prelude,
    spec,
    streamed,
)
from tests.support.front_server import serving

TIMEOUT = 10


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Bad": "a\r\nInjected: yes"},
        {"X-Bad": "a\nb"},
        {"X-Bad": "nul\x00"},
        {"Bad Name": "value"},
        {"": "value"},
    ],
)
def test_an_impossible_header_is_a_502(
    headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    engine = ScriptedEngine(
        {
            "Streamed": (spec("Streamed"), streamed(prelude(200, headers) + b"body")),
            "Buffered": (
                spec("Buffered", "BUFFERED"),
                buffered({"statusCode": 200, "headers": headers, "body": "body"}),
            ),
        }
    )
    with serving(engine) as server:
        for name in ("Streamed", "Buffered"):
            reply = requests.get(f"{server.base_url}/{name}/", timeout=TIMEOUT)
            assert reply.status_code == 502, name
            assert reply.content == BAD_GATEWAY_BODY
            assert "Injected" not in reply.headers
    reasons = [r.getMessage() for r in caplog.records if "502 Bad Gateway" in r.getMessage()]
    assert len(reasons) == 2 and all("header" in reason for reason in reasons), reasons


def test_a_fault_of_the_emulator_is_a_502_not_a_500(caplog: pytest.LogCaptureFixture) -> None:
    def setup(app: web.Application, engine: object) -> None:
        async def broken(request: web.Request) -> web.Response:
            raise RuntimeError("a bug in a front")

        app.router.add_get("/broken", broken)

    engine = ScriptedEngine({"Fn": (spec("Fn"), streamed(prelude() + b"x"))})
    with serving(engine, route_setups=[setup]) as server:
        reply = requests.get(f"{server.base_url}/broken", timeout=TIMEOUT)
    assert reply.status_code == 502
    assert reply.content == BAD_GATEWAY_BODY
    assert any("a bug in a front" in (r.exc_text or "") for r in caplog.records)


def test_a_fault_after_the_response_started_cuts_it() -> None:
    async def script(payload: bytes) -> AsyncIterator[InvocationEvent]:
        yield ResponseHead(streaming=True, content_type=PRELUDE_TYPE)
        yield BodyChunk(prelude(200, {"Content-Type": "text/plain"}) + b"first;")
        raise RuntimeError("the engine broke mid-stream")

    engine = ScriptedEngine({"Fn": (spec("Fn"), script)})
    with serving(engine) as server:
        reply = requests.get(f"{server.base_url}/Fn/", stream=True, timeout=TIMEOUT)
        assert reply.status_code == 200
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(reply.iter_content(chunk_size=None))

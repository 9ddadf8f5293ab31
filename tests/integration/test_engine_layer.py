"""The engine running functions on the product's streaming layer (layers/streaming)."""

from __future__ import annotations

import json

from streamlab.emulator.invocation import ResponseHead
from tests.support.engine_helpers import collect, engine_with_log, payload, run

PRELUDE_TYPE = "application/vnd.awslambda.http-integration-response"


def split_prelude(body: bytes) -> tuple[dict[str, object], bytes]:
    prelude, separator, rest = body.partition(b"\x00" * 8)
    assert separator, body
    return json.loads(prelude), rest


def test_layer_streams_prelude_then_chunks_while_writing() -> None:
    async def scenario() -> None:
        engine, _ = engine_with_log()
        async with engine:
            result = await collect(engine.invoke("LayerStreamFunction", payload(interval=0.25)))
        assert result.head == ResponseHead(streaming=True, content_type=PRELUDE_TYPE)
        assert result.end.error is None
        prelude, body = split_prelude(result.body)
        assert prelude["statusCode"] == 201
        assert prelude["cookies"] == ["a=1; Path=/"]
        assert body == b"part 0\npart 1\npart 2\n"
        # Each write reached the engine about when it was made, not at the end.
        arrivals = {}
        seen = b""
        for at, data in result.chunks:
            seen += data
            for index in range(3):
                if f"part {index}".encode() in seen:
                    arrivals.setdefault(index, at)
        assert arrivals[1] - arrivals[0] > 0.15 and arrivals[2] - arrivals[1] > 0.15
        assert result.end_at - arrivals[0] > 0.4

    run(scenario)


def test_layer_error_after_the_first_byte_uses_the_trailers() -> None:
    async def scenario() -> None:
        engine, log = engine_with_log()
        async with engine:
            failed = await collect(engine.invoke("LayerStreamFunction", payload(fail_after=True)))
            after = await collect(engine.invoke("LayerStreamFunction", payload(count=1)))
        _, body = split_prelude(failed.body)
        assert body == b"part 0\n"
        error = failed.end.error
        assert error is not None
        assert (error.error_type, error.error_message) == ("ValueError", "layer broke mid-stream")
        assert json.loads(error.payload)["errorType"] == "ValueError"
        assert after.end.error is None  # the runtime survived and took the next event
        assert engine.cold_starts["LayerStreamFunction"] == 1
        assert "ValueError: layer broke mid-stream" in log.getvalue()

    run(scenario)


def test_undecorated_handler_on_the_layer_answers_buffered() -> None:
    async def scenario() -> None:
        engine, log = engine_with_log()
        async with engine:
            result = await collect(engine.invoke("LayerPlainFunction", payload(tag="plain")))
        assert result.head.streaming is False
        assert result.json()["tag"] == "plain"
        assert "[LayerPlainFunction] sleeper start plain" in log.getvalue()

    run(scenario)

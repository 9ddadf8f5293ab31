"""The Lambda API front, driven by an unmodified boto3 client (botocore parses everything)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError

from streamlab.emulator.auth import SigV4Verifier
from streamlab.emulator.invocation import BodyChunk, InvocationEnd, InvocationEvent, ResponseHead
from streamlab.emulator.server import EmulatorServer
from tests.support.front_scripted_engine import (
    Gate,
    ScriptedEngine,
    buffered,
    echo_event,
    error,
    failing,
    spec,
    streamed,
)
from tests.support.front_server import serving

TIMEOUT = 5


def client(server: EmulatorServer, **credentials: str):
    """A real boto3 Lambda client for the local server; no retries so throttles surface."""
    return boto3.client(
        "lambda",
        endpoint_url=server.base_url,
        region_name="us-east-1",
        config=Config(
            retries={"total_max_attempts": 1}, read_timeout=TIMEOUT, connect_timeout=TIMEOUT
        ),
        **credentials,
    )


def gated(gate: Gate) -> object:
    async def script(payload: bytes) -> AsyncIterator[InvocationEvent]:
        yield ResponseHead(streaming=True, content_type="text/plain")
        yield BodyChunk(b"one")
        await gate.wait(TIMEOUT)
        yield BodyChunk(b"two")
        yield InvocationEnd()

    return script


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def engine(gate: Gate) -> ScriptedEngine:
    return ScriptedEngine(
        {
            "Echo": (spec("Echo", "BUFFERED"), echo_event()),
            "Value": (spec("Value", invoke_mode=None), buffered({"answer": 42})),
            "Fails": (spec("Fails"), failing("ValueError", "bad input")),
            "Stream": (spec("Stream"), streamed(b"a", b"bb", b"ccc", content_type="text/plain")),
            "Cut": (spec("Cut"), streamed(b"a", end=error("RuntimeError", "died"))),
            "Gated": (spec("Gated"), gated(gate)),
        }
    )


@pytest.fixture
def server(engine: ScriptedEngine) -> Iterator[EmulatorServer]:
    # The default verifier: botocore's credential chain, the same one boto3 signs with.
    with serving(engine, auth=True) as running:
        yield running


def test_invoke_returns_the_payload(server: EmulatorServer, engine: ScriptedEngine) -> None:
    lam = client(server)
    context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    result = lam.invoke(FunctionName="Echo", Payload=b'{"in": 1}', ClientContext=context)
    assert result["StatusCode"] == 200
    assert result["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in result
    assert json.loads(result["Payload"].read()) == {"in": 1}
    assert engine.invocations[0].request_id == result["ResponseMetadata"]["RequestId"]
    received = engine.invocations[0].client_context
    assert json.loads(base64.b64decode(received)) == {"custom": {"k": "v"}}
    # Any name form Lambda accepts reaches the same function.
    arn = "arn:aws:lambda:us-east-1:123456789012:function:Value"
    assert json.loads(lam.invoke(FunctionName=arn)["Payload"].read()) == {"answer": 42}


def test_invoke_function_error(server: EmulatorServer) -> None:
    result = client(server).invoke(FunctionName="Fails", Payload=b"{}")
    assert result["StatusCode"] == 200
    assert result["FunctionError"] == "Unhandled"
    document = json.loads(result["Payload"].read())
    assert document["errorType"] == "ValueError"
    assert document["errorMessage"] == "bad input"


def test_invoke_dry_run_and_event(server: EmulatorServer, engine: ScriptedEngine) -> None:
    lam = client(server)
    assert lam.invoke(FunctionName="Echo", InvocationType="DryRun")["StatusCode"] == 204
    assert (
        lam.invoke(FunctionName="Echo", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    )
    deadline = time.monotonic() + TIMEOUT
    while engine.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [i.function_name for i in engine.invocations] == ["Echo"]


def test_unknown_function(server: EmulatorServer) -> None:
    with pytest.raises(ClientError) as info:
        client(server).invoke(FunctionName="Nope", Payload=b"{}")
    error = info.value.response["Error"]
    assert error["Code"] == "ResourceNotFoundException"
    assert "Function not found: arn:aws:lambda:us-east-1:" in error["Message"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(client(server).exceptions.ResourceNotFoundException):
        client(server).invoke_with_response_stream(FunctionName="Nope")


def test_invoke_with_response_stream(server: EmulatorServer) -> None:
    result = client(server).invoke_with_response_stream(FunctionName="Stream", Payload=b"{}")
    assert result["StatusCode"] == 200
    assert result["ExecutedVersion"] == "$LATEST"
    events = list(result["EventStream"])
    assert [e["PayloadChunk"]["Payload"] for e in events[:-1]] == [b"a", b"bb", b"ccc"]
    assert events[-1] == {"InvokeComplete": {}}


def test_invoke_with_response_stream_arrives_as_produced(
    server: EmulatorServer, gate: Gate
) -> None:
    result = client(server).invoke_with_response_stream(FunctionName="Gated")
    stream = iter(result["EventStream"])
    # The function waits for the gate: receiving "one" now proves it was not buffered.
    assert next(stream)["PayloadChunk"]["Payload"] == b"one"
    gate.open()
    assert next(stream)["PayloadChunk"]["Payload"] == b"two"
    assert next(stream) == {"InvokeComplete": {}}


def test_invoke_with_response_stream_errors(server: EmulatorServer) -> None:
    lam = client(server)
    cut = list(lam.invoke_with_response_stream(FunctionName="Cut")["EventStream"])
    assert cut[0]["PayloadChunk"]["Payload"] == b"a"
    assert cut[-1]["InvokeComplete"] == {"ErrorCode": "RuntimeError", "ErrorDetails": "died"}
    failed = list(lam.invoke_with_response_stream(FunctionName="Fails")["EventStream"])
    assert failed == [{"InvokeComplete": {"ErrorCode": "ValueError", "ErrorDetails": "bad input"}}]


def test_unsigned_or_wrongly_signed_calls_are_rejected(server: EmulatorServer) -> None:
    wrong = client(server, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wrong-secret")
    with pytest.raises(ClientError) as info:
        wrong.invoke(FunctionName="Echo", Payload=b"{}")
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    stranger = client(server, aws_access_key_id="AKIDSTRANGER", aws_secret_access_key="x")
    with pytest.raises(ClientError) as info:
        stranger.invoke_with_response_stream(FunctionName="Stream")
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_throttled() -> None:
    gate = Gate()
    engine = ScriptedEngine({"Gated": (spec("Gated"), gated(gate))}, max_concurrency=1)
    with serving(engine, verifier=SigV4Verifier(ReadOnlyCredentials("AKIDT", "s", None))) as server:
        lam = client(server, aws_access_key_id="AKIDT", aws_secret_access_key="s")
        busy = iter(lam.invoke_with_response_stream(FunctionName="Gated")["EventStream"])
        assert next(busy)["PayloadChunk"]["Payload"] == b"one"
        with pytest.raises(lam.exceptions.TooManyRequestsException) as info:
            lam.invoke(FunctionName="Gated")
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        gate.open()
        assert [e for e in busy][-1] == {"InvokeComplete": {}}


def test_request_too_large(server: EmulatorServer) -> None:
    with pytest.raises(ClientError) as info:
        client(server).invoke(FunctionName="Echo", Payload=b"x" * (6 * 1024 * 1024 + 1))
    assert info.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413

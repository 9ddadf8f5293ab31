"""Lambda's response limits through the emulator, over real sockets with real functions.

The bandwidth caps are checked with small figures injected the way ``streamlab serve`` passes
its own (``Limits`` to the engine and the server), so each stream takes about half a second;
``tests/unit/test_engine_limits.py`` checks that the defaults are Lambda's documented ones.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from streamlab.emulator.engine import Engine
from streamlab.emulator.limits import LAMBDA_LIMITS, MIB, NO_LIMITS, Bandwidth, Limits
from streamlab.emulator.logs import LambdaLog
from streamlab.emulator.rest_template import load_rest_apis
from streamlab.emulator.server import EmulatorServer
from tests.support.front_server import serving_engine

TEMPLATE = Path(__file__).resolve().parents[1] / "fixtures" / "limits_app" / "template.yaml"
TEXT = b"a body that no HEAD answer may carry\n"
URL = "/StreamedFunction/"
REST = "/ServerlessRestApi/Prod/streamed"


def expected_body(size: int, chunk: int = 65536) -> bytes:
    pattern = (TEXT * (chunk // len(TEXT) + 1))[:chunk]
    return (pattern * (size // chunk + 1))[:size]


@contextmanager
def emulator(limits: Limits) -> Iterator[tuple[EmulatorServer, io.StringIO]]:
    log = io.StringIO()
    engine = Engine.from_template(TEMPLATE, log=LambdaLog(log), limits=limits)
    apis = load_rest_apis(TEMPLATE)
    with serving_engine(engine, rest_apis=apis, auth=False, limits=limits) as server:
        for path in (URL, "/BufferedFunction/"):  # cold starts out of the timings
            requests.get(server.base_url + path, timeout=30).raise_for_status()
        yield server, log


def timed_get(url: str) -> tuple[float, bytes]:
    started = time.monotonic()
    with requests.get(url, stream=True, timeout=60) as response:
        response.raise_for_status()
        body = b"".join(response.iter_content(chunk_size=None))
    return time.monotonic() - started, body


def lambda_client(server: EmulatorServer) -> object:
    return boto3.client(
        "lambda",
        endpoint_url=server.base_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(read_timeout=60, retries={"max_attempts": 1}),
    )


def invoke_streamed(server: EmulatorServer, size: int) -> tuple[float, bytes, dict[str, str]]:
    event = {"queryStringParameters": {"bytes": str(size)}}
    started = time.monotonic()
    response = lambda_client(server).invoke_with_response_stream(  # type: ignore[attr-defined]
        FunctionName="StreamedFunction", Payload=json.dumps(event)
    )
    body, complete = b"", {}
    for item in response["EventStream"]:
        if "PayloadChunk" in item:
            body += item["PayloadChunk"]["Payload"]
        elif "InvokeComplete" in item:
            complete = item["InvokeComplete"]
    return time.monotonic() - started, body, complete


# Each front its own cap: past the burst, 4 MiB/s; 2.25 MiB then take 0.5 s behind a
# Function URL (0.25 MiB burst) and 0.25 s behind the REST stage (1.25 MiB burst).
PACED = Limits(
    url_stream=Bandwidth(burst=MIB // 4, rate=4 * MIB),
    rest_stream=Bandwidth(burst=5 * MIB // 4, rate=4 * MIB),
    streamed_response=LAMBDA_LIMITS.streamed_response,
    buffered_response=LAMBDA_LIMITS.buffered_response,
    request_payload=LAMBDA_LIMITS.request_payload,
)
PACED_SIZE = 9 * MIB // 4


def test_each_front_paces_a_stream_past_its_burst() -> None:
    with emulator(PACED) as (server, _):
        url_s, url_body = timed_get(f"{server.base_url}{URL}?bytes={PACED_SIZE}")
        rest_s, rest_body = timed_get(f"{server.base_url}{REST}?bytes={PACED_SIZE}")
        sdk_s, sdk_body, complete = invoke_streamed(server, PACED_SIZE)
    expected = expected_body(PACED_SIZE)
    assert url_body == expected and rest_body == expected
    assert expected in sdk_body and complete == {}  # the SDK's payload is the prelude + body
    assert 0.45 <= url_s < 1.5, url_s
    assert 0.22 <= rest_s < 1.2, rest_s
    assert 0.45 <= sdk_s < 1.5, sdk_s


def test_no_limits_streams_at_local_speed() -> None:
    size = 8 * MIB  # at Lambda's caps: 1 s behind a Function URL
    with emulator(NO_LIMITS) as (server, _):
        url_s, url_body = timed_get(f"{server.base_url}{URL}?bytes={size}")
        rest_s, rest_body = timed_get(f"{server.base_url}{REST}?bytes={size}")
    assert url_body == rest_body == expected_body(size)
    assert url_s < 0.8 and rest_s < 0.8, (url_s, rest_s)


SMALL_CAPS = Limits(
    url_stream=None,
    rest_stream=None,
    streamed_response=MIB,
    buffered_response=MIB,
    request_payload=LAMBDA_LIMITS.request_payload,
)


def test_a_stream_past_the_size_cap_is_cut_as_on_lambda() -> None:
    """The client sees a truncated transfer, the SDK an InvokeComplete error, the log why."""
    with emulator(SMALL_CAPS) as (server, log):
        received = b""
        url = f"{server.base_url}{URL}?bytes={2 * MIB}"
        with (
            pytest.raises(requests.exceptions.ChunkedEncodingError),
            requests.get(url, stream=True, timeout=30) as response,
        ):
            assert response.status_code == 200
            for part in response.iter_content(chunk_size=None):
                received += part
        _, _, complete = invoke_streamed(server, 2 * MIB)
    assert 0 < len(received) <= MIB
    assert complete["ErrorCode"] == "Function.ResponseSizeTooLarge"
    assert f"exceeded maximum allowed payload size ({MIB} bytes)" in complete["ErrorDetails"]
    text = log.getvalue()
    assert "ERROR RequestId:" in text and "Function.ResponseSizeTooLarge" in text


def test_the_buffered_cap_is_kept_and_lifted() -> None:
    size = 7 * MIB
    with emulator(LAMBDA_LIMITS) as (server, log):
        refused = requests.get(f"{server.base_url}/BufferedFunction/?bytes={size}", timeout=60)
    assert refused.status_code == 502
    assert "Function.ResponseSizeTooLarge" in log.getvalue()
    with emulator(NO_LIMITS) as (server, _):
        served = requests.get(f"{server.base_url}/BufferedFunction/?bytes={size}", timeout=60)
    assert served.status_code == 200 and served.content == expected_body(size)


def test_a_slow_client_still_pushes_back_on_the_function() -> None:
    """Paced or not, a client that stops reading stops the function's writes: it cannot finish
    a response far larger than every buffer between them until the client reads on."""
    size = 48 * MIB
    fast = Limits(
        url_stream=Bandwidth(burst=MIB, rate=256 * MIB),
        rest_stream=None,
        streamed_response=LAMBDA_LIMITS.streamed_response,
        buffered_response=LAMBDA_LIMITS.buffered_response,
        request_payload=LAMBDA_LIMITS.request_payload,
    )
    with emulator(fast) as (server, log):
        with requests.get(f"{server.base_url}{URL}?bytes={size}", stream=True) as response:
            parts = response.iter_content(chunk_size=65536)
            first = next(parts)
            time.sleep(1.5)
            ends_before_reading = log.getvalue().count("END RequestId")
            rest = b"".join(parts)
        deadline = time.monotonic() + 10
        while log.getvalue().count("END RequestId") == ends_before_reading:
            assert time.monotonic() < deadline, "the function never ended"
            time.sleep(0.05)
    assert ends_before_reading == 2  # the two warm-up requests only
    assert first + rest == expected_body(size)

"""End to end: the real engine runs the fixture app's functions behind the HTTP fronts.

The app (tests/fixtures/emulator_app, owned by the engine's tests) has a streaming
function behind a NONE/RESPONSE_STREAM URL and an echo function behind an
AWS_IAM/BUFFERED URL with CORS; each stream chunk is written 0.3 s apart by default.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.session import get_session

from streamlab.emulator.server import EmulatorServer
from tests.conftest import ROOT
from tests.support.front_server import serving_template

TEMPLATE = ROOT / "tests" / "fixtures" / "emulator_app" / "template.yaml"
TIMEOUT = 10
MAX_CONCURRENCY = 3


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serving_template(TEMPLATE, max_concurrency=MAX_CONCURRENCY) as running:
        yield running


def lambda_client(server: EmulatorServer):
    return boto3.client(
        "lambda",
        endpoint_url=server.base_url,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=TIMEOUT),
    )


def signed_headers(method: str, url: str, body: bytes = b"") -> dict[str, str]:
    """SigV4 headers from the same credentials chain the server verifies against."""
    request = AWSRequest(method=method, url=url, data=body)
    credentials = get_session().get_credentials()
    SigV4Auth(credentials, "lambda", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_stream_arrives_chunk_by_chunk(server: EmulatorServer) -> None:
    started = time.monotonic()
    response = requests.get(f"{server.base_url}/StreamFunction/", stream=True, timeout=TIMEOUT)
    assert response.status_code == 200
    arrivals = []
    body = b""
    for chunk in response.iter_content(chunk_size=None):
        arrivals.append(time.monotonic() - started)
        body += chunk
    lines = body.decode().splitlines()
    assert [line.split(" from ")[0] for line in lines] == ["chunk 0", "chunk 1", "chunk 2"]
    # The function sleeps 0.3 s after each chunk: the first one must be here long before the end.
    assert len(arrivals) >= 3
    assert arrivals[-1] - arrivals[0] >= 0.5


def test_concurrent_requests_get_their_own_bytes(server: EmulatorServer) -> None:
    def fetch(_: int) -> list[str]:
        url = f"{server.base_url}/StreamFunction/"
        return requests.get(url, timeout=TIMEOUT).text.splitlines()

    with ThreadPoolExecutor(MAX_CONCURRENCY) as pool:
        results = list(pool.map(fetch, range(MAX_CONCURRENCY)))
    pids = []
    for lines in results:
        assert [line.split(" from ")[0] for line in lines] == ["chunk 0", "chunk 1", "chunk 2"]
        owners = {line.split(" from ")[1] for line in lines}
        assert len(owners) == 1  # one environment wrote the whole response
        pids.append(owners.pop())
    assert len(set(pids)) == MAX_CONCURRENCY  # and each response had its own environment


def test_throttled_past_max_concurrency(server: EmulatorServer) -> None:
    url = f"{server.base_url}/StreamFunction/"
    busy = [requests.get(url, stream=True, timeout=TIMEOUT) for _ in range(MAX_CONCURRENCY)]
    try:
        assert all(response.status_code == 200 for response in busy)
        throttled = requests.get(url, timeout=TIMEOUT)
        assert throttled.status_code == 429
    finally:
        for response in busy:
            response.content  # noqa: B018 - read to the end so the environments are free again
            response.close()


def test_iam_url_with_cors_and_signature(server: EmulatorServer) -> None:
    url = f"{server.base_url}/EchoFunction/items?id=7"
    unsigned = requests.get(url, timeout=TIMEOUT)
    assert (unsigned.status_code, unsigned.json()) == (403, {"Message": "Forbidden"})
    preflight = requests.options(
        url,
        headers={"Origin": "https://example.com", "Access-Control-Request-Method": "POST"},
        timeout=TIMEOUT,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://example.com"
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    body = b'{"hello": "world"}'
    headers = {
        **signed_headers("POST", url, body),
        "Content-Type": "application/json",
        "Origin": "https://example.com",
    }
    # Content-Type and Origin were added after signing: unsigned headers are allowed.
    response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "https://example.com"
    echoed = response.json()
    event = echoed["event"]
    assert event["rawPath"] == "/items"
    assert event["queryStringParameters"] == {"id": "7"}
    assert json.loads(event["body"]) == {"hello": "world"}
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"]
    assert event["requestContext"]["requestId"] == response.headers["x-amzn-RequestId"]
    # ... and the same id is the function's context.aws_request_id (and in the logs).
    assert echoed["request_id"] == response.headers["x-amzn-RequestId"]


def test_boto3_invoke_and_stream(server: EmulatorServer) -> None:
    client = lambda_client(server)
    echoed = client.invoke(FunctionName="EchoFunction", Payload=b'{"direct": true}')
    result = json.loads(echoed["Payload"].read())
    assert result["event"] == {"direct": True}
    assert result["request_id"] == echoed["ResponseMetadata"]["RequestId"]
    payload = json.dumps({"count": 2, "interval": 0.05}).encode()
    events = list(
        client.invoke_with_response_stream(FunctionName="StreamFunction", Payload=payload)[
            "EventStream"
        ]
    )
    chunks = [e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e]
    assert b"".join(chunks).decode().count("chunk ") == 2
    assert events[-1] == {"InvokeComplete": {}}


def test_mid_stream_error_and_timeout_reach_the_client(server: EmulatorServer) -> None:
    client = lambda_client(server)
    payload = json.dumps({"count": 1, "interval": 0.01, "fail_after": True}).encode()
    events = list(
        client.invoke_with_response_stream(FunctionName="StreamFunction", Payload=payload)[
            "EventStream"
        ]
    )
    assert any("PayloadChunk" in e for e in events)
    complete = events[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "RuntimeError"
    assert "broke mid-stream" in complete["ErrorDetails"]
    # A stream that never ends is cut at the function's Timeout (2 s in the fixture app).
    payload = json.dumps({"count": 1, "interval": 0.01, "forever": True}).encode()
    started = time.monotonic()
    events = list(
        client.invoke_with_response_stream(FunctionName="StreamFunction", Payload=payload)[
            "EventStream"
        ]
    )
    assert 1.5 < time.monotonic() - started < 6
    assert events[-1]["InvokeComplete"]["ErrorCode"] == "Sandbox.Timedout"

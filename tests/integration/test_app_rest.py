"""The three functions through the template's REST API stage in the local emulator (real runtime,
real sockets), signed for ``execute-api`` as the template's default AWS_IAM method auth wants,
and read back with real clients (sseclient-py for SSE)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
import sseclient
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.app_decode import MEDIA_TYPES, decode
from tests.support.app_emulator import Reply, call, emulator

ROOT = Path(__file__).resolve().parents[2]
PATHS = {"raw_text": "raw", "sse": "sse", "jsonl": "jsonl"}
URLS = {"raw_text": "RawTextFunction", "sse": "SseFunction", "jsonl": "JsonlFunction"}
FIRST = {"raw_text": b"Streaming", "sse": b"id: 0\n", "jsonl": b'"index":0}'}
LAST = {"raw_text": b" soon", "sse": b"id: 5\n", "jsonl": b'"index":5}'}
STAGE = "/StreamingRestApi/prod"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with emulator(ROOT / "template.yaml") as url:
        yield url


def rest(base_url: str, function: str, method: str = "GET", body: bytes | None = None,
         **query: object) -> Reply:  # fmt: skip
    target = f"{base_url}{STAGE}/{PATHS[function]}"
    if query:
        target += "?" + urlencode(query)
    headers = {"content-type": "application/json"} if body else {}
    return call(method, target, body, service="execute-api", **headers)


@pytest.mark.parametrize("function", PATHS)
def test_rest_streams_chunk_by_chunk(base_url: str, function: str) -> None:
    count, delay_ms = 6, 120
    reply = rest(base_url, function, prompt="Why?", max_tokens=count, token_delay_ms=delay_ms)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == MEDIA_TYPES[function]
    assert reply.headers["Cache-Control"] == "no-cache"
    assert reply.headers["x-amzn-RequestId"]
    outcome = decode(function, [data for _, data in reply.chunks])
    assert len(outcome.tokens) == count and outcome.error is None
    first, last = reply.arrival(FIRST[function]), reply.arrival(LAST[function])
    assert last - first >= 0.7 * (count - 1) * delay_ms / 1000, reply.chunks


def test_sse_events_arrive_one_by_one_with_sseclient(base_url: str) -> None:
    url = f"{base_url}{STAGE}/sse?" + urlencode(
        {"prompt": "Why?", "max_tokens": 4, "token_delay_ms": 150}
    )
    request = AWSRequest(method="GET", url=url, headers={"Accept": "text/event-stream"})
    SigV4Auth(Credentials("AKIDEXAMPLE", _secret()), "execute-api", "us-east-1").add_auth(request)
    started = time.monotonic()
    seen: list[tuple[float, str]] = []
    with requests.get(url, headers=dict(request.headers), stream=True, timeout=20) as response:
        assert response.status_code == 200
        for event in sseclient.SSEClient(response).events():
            seen.append((time.monotonic() - started, event.event))
    kinds = [kind for _, kind in seen]
    assert kinds[0] == "status" and kinds[-1] == "done" and kinds.count("message") == 4
    assert seen[-1][0] - seen[1][0] >= 0.7 * 3 * 0.150


def _secret() -> str:
    import os

    return os.environ["AWS_SECRET_ACCESS_KEY"]


def test_both_fronts_send_the_same_bytes(base_url: str) -> None:
    for function in PATHS:
        query = {"prompt": "Same?", "max_tokens": 5, "token_delay_ms": 0}
        via_rest = rest(base_url, function, **query)
        via_url = call("GET", f"{base_url}/{URLS[function]}/?{urlencode(query)}")
        assert via_rest.status == via_url.status == 200
        strip = (lambda body: body) if function == "raw_text" else _without_timings
        assert strip(via_rest.body) == strip(via_url.body), function


def _without_timings(body: bytes) -> bytes:
    """The summary's timings differ run to run; everything else must not."""
    text = body.decode()
    for key in ("first_token_ms", "elapsed_ms"):
        while f'"{key}":' in text:
            start = text.index(f'"{key}":') + len(key) + 3
            end = start
            while text[end] in "0123456789.":
                end += 1
            text = text[: start - len(key) - 3] + f'"{key}#"' + text[end:]
    return text.encode()


def test_post_json_and_in_band_failure_then_next_request(base_url: str) -> None:
    body = json.dumps({"prompt": "Hi", "max_tokens": 3, "token_delay_ms": 0}).encode()
    reply = rest(base_url, "jsonl", "POST", body)
    assert reply.status == 200 and len(decode("jsonl", [reply.body]).tokens) == 3
    failed = rest(base_url, "sse", prompt="x", max_tokens=8, token_delay_ms=5, fail_after=2)
    outcome = decode("sse", [failed.body])
    assert failed.status == 200 and len(outcome.tokens) == 2
    assert outcome.error is not None and outcome.error["code"] == "generator_failed"
    again = rest(base_url, "sse", prompt="x", max_tokens=2, token_delay_ms=0)
    assert again.status == 200 and decode("sse", [again.body]).done is not None


@pytest.mark.parametrize(
    ("method", "query", "body", "status", "code"),
    [
        ("POST", {}, b'{"prompt": ', 400, "invalid_json"),
        ("GET", {"max_tokens": 3}, None, 400, "missing_prompt"),
        ("POST", {}, json.dumps({"prompt": "x" * 4001}).encode(), 413, "prompt_too_long"),
    ],
)
def test_bad_input_gets_the_functions_4xx(
    base_url: str, method: str, query: dict, body: bytes | None, status: int, code: str
) -> None:
    reply = rest(base_url, "raw_text", method, body, **query)
    assert reply.status == status
    assert reply.headers["Content-Type"] == "application/json"
    assert json.loads(reply.body)["error"]["code"] == code


def test_api_gateway_answers_what_the_api_does_not_route(base_url: str) -> None:
    put = call("PUT", f"{base_url}{STAGE}/sse?prompt=x", service="execute-api")
    assert put.status == 403 and json.loads(put.body) == {"message": "Missing Authentication Token"}
    unsigned = call("GET", f"{base_url}{STAGE}/sse?prompt=x", service="")
    assert unsigned.status == 403
    assert json.loads(unsigned.body) == {"message": "Missing Authentication Token"}
    wrong_service = call("GET", f"{base_url}{STAGE}/sse?prompt=x", service="lambda")
    assert wrong_service.status == 403
    assert "execute-api" in json.loads(wrong_service.body)["message"]


def test_cors_preflight_is_answered_by_the_api_unsigned(base_url: str) -> None:
    response = requests.options(
        f"{base_url}{STAGE}/sse",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "x-amz-date" in response.headers["Access-Control-Allow-Headers"]
    assert response.headers["Access-Control-Max-Age"] == "300"


def test_the_functions_send_the_cors_origin_themselves_behind_rest(base_url: str) -> None:
    """A REST proxy integration adds no CORS header: the layer does, from CORS_ALLOW_ORIGINS."""
    url = f"{base_url}{STAGE}/jsonl?prompt=x&max_tokens=1&token_delay_ms=0"
    reply = call("GET", url, service="execute-api", Origin="https://app.example")
    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    bad = call("GET", f"{base_url}{STAGE}/jsonl", service="execute-api", Origin="https://a.example")
    assert bad.status == 400 and bad.headers["Access-Control-Allow-Origin"] == "*"

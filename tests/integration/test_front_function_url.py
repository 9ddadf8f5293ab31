"""Function URLs over real HTTP, against a scripted engine (tests/support/front_scripted_engine)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from streamlab.emulator.auth import SigV4Verifier
from streamlab.emulator.invocation import (
    BodyChunk,
    CorsConfig,
    InvocationEnd,
    InvocationEvent,
    ResponseHead,
)
from tests.support.front_scripted_engine import (
    PRELUDE_TYPE,
    Gate,
    ScriptedEngine,
    buffered,
    echo_event,
    error,
    failing,
    prelude,
    spec,
    streamed,
)
from tests.support.front_server import serving

TIMEOUT = 5
KEY = ReadOnlyCredentials("AKIDFRONTTEST", "front-test-secret", None)


def gated_stream(gate: Gate, produced: list[float]) -> object:
    """Streams a prelude and a first chunk, then waits for the test before the second."""

    async def script(payload: bytes) -> AsyncIterator[InvocationEvent]:
        yield ResponseHead(streaming=True, content_type=PRELUDE_TYPE)
        yield BodyChunk(prelude(200, {"Content-Type": "text/plain"}) + b"first;")
        if not await gate.wait(TIMEOUT):
            raise AssertionError("the test never released the function")
        produced.append(time.monotonic())
        yield BodyChunk(b"second;")
        yield InvocationEnd()

    return script


def test_chunks_reach_the_client_while_the_function_is_still_running() -> None:
    gate, produced = Gate(), []
    engine = ScriptedEngine({"Fn": (spec("Fn"), gated_stream(gate, produced))})
    with serving(engine, auth=False) as server:
        response = requests.get(f"{server.base_url}/Fn/", stream=True, timeout=TIMEOUT)
        assert response.status_code == 200
        assert response.headers["Transfer-Encoding"] == "chunked"
        chunks = response.iter_content(chunk_size=None)
        # The function is blocked on the gate: this chunk can only come from streaming.
        assert next(chunks) == b"first;"
        first_at = time.monotonic()
        gate.open()
        assert b"".join(chunks) == b"second;"
        assert produced and first_at < produced[0]


def test_prelude_status_headers_and_cookies_split_across_chunks() -> None:
    raw = prelude(
        418,
        {"Content-Type": "text/event-stream", "X-Custom": "yes"},
        ["a=1; Path=/", "b=2; Secure"],
    )
    pieces = [raw[:3], raw[3:20], raw[20:-5], raw[-5:-1], raw[-1:] + b"data: 1\n\n", b"data: 2\n\n"]
    engine = ScriptedEngine({"Fn": (spec("Fn"), streamed(*pieces))})
    with serving(engine, auth=False) as server:
        response = requests.get(f"{server.base_url}/Fn", timeout=TIMEOUT)
    assert response.status_code == 418
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["X-Custom"] == "yes"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; Secure"]
    assert response.content == b"data: 1\n\ndata: 2\n\n"
    request_id = response.headers["x-amzn-RequestId"]
    assert json.loads(engine.invocations[0].payload)["requestContext"]["requestId"] == request_id
    assert engine.invocations[0].request_id == request_id  # the engine runs it under that id
    assert response.headers["X-Amzn-Trace-Id"].startswith("Root=1-")


def test_stream_without_prelude_uses_the_runtime_content_type() -> None:
    engine = ScriptedEngine({"Fn": (spec("Fn"), streamed(b"a", b"b", content_type="text/csv"))})
    with serving(engine, auth=False) as server:
        response = requests.get(f"{server.base_url}/Fn/x", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv"
    assert response.content == b"ab"


@pytest.mark.parametrize(
    "script",
    [
        streamed(b"{not json" + b"\x00" * 8 + b"body"),
        streamed(b'{"statusCode": 200'),  # ends inside the prelude
        failing("Runtime.ImportModuleError", "No module named app"),
    ],
    ids=["bad-prelude", "truncated-prelude", "error-before-bytes"],
)
def test_nothing_sent_yet_means_502(script) -> None:
    engine = ScriptedEngine({"Fn": (spec("Fn"), script)})
    with serving(engine, auth=False) as server:
        response = requests.get(f"{server.base_url}/Fn/", timeout=TIMEOUT)
    assert response.status_code == 502
    assert response.content == b"Internal Server Error"
    assert response.headers["x-amzn-RequestId"]


def mid_stream_failure() -> object:
    return streamed(
        prelude(200, {"Content-Type": "text/plain"}) + b"partial ",
        b"more ",
        end=error("RuntimeError", "exploded mid-stream"),
    )


def test_mid_stream_error_cuts_the_body(caplog: pytest.LogCaptureFixture) -> None:
    engine = ScriptedEngine({"Fn": (spec("Fn"), mid_stream_failure())})
    with serving(engine, auth=False) as server:
        response = requests.get(f"{server.base_url}/Fn/", stream=True, timeout=TIMEOUT)
        assert response.status_code == 200
        received = b""
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in response.iter_content(chunk_size=None):
                received += chunk
        assert received == b"partial more "
    assert "RuntimeError: exploded mid-stream" in caplog.text


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_mid_stream_error_is_a_partial_transfer_for_curl() -> None:
    engine = ScriptedEngine({"Fn": (spec("Fn"), mid_stream_failure())})
    with serving(engine, auth=False) as server:
        done = subprocess.run(
            ["curl", "-sS", "-N", f"{server.base_url}/Fn/"], capture_output=True, timeout=TIMEOUT
        )
    assert done.returncode == 18  # CURLE_PARTIAL_FILE
    assert done.stdout == b"partial more "


def test_client_disconnect_leaves_the_server_healthy() -> None:
    gate, produced = Gate(), []
    engine = ScriptedEngine({"Fn": (spec("Fn"), gated_stream(gate, produced))})
    with serving(engine, auth=False) as server:
        response = requests.get(f"{server.base_url}/Fn/", stream=True, timeout=TIMEOUT)
        assert next(response.iter_content(chunk_size=None)) == b"first;"
        response.close()
        gate.open()
        deadline = time.monotonic() + TIMEOUT
        while engine.active and time.monotonic() < deadline:
            time.sleep(0.01)
        assert engine.active == 0
        again = requests.get(f"{server.base_url}/Fn/", timeout=TIMEOUT)
        assert again.content == b"first;second;"


def test_buffered_result_mapping() -> None:
    png = bytes(range(256))
    engine = ScriptedEngine(
        {
            "Html": (
                spec("Html", "BUFFERED"),
                buffered(
                    {
                        "statusCode": 201,
                        "headers": {"Content-Type": "text/html", "X-A": "1"},
                        "cookies": ["s=1", "t=2"],
                        "body": "<b>hi</b>",
                    }
                ),
            ),
            "Png": (
                spec("Png", "BUFFERED"),
                buffered(
                    {
                        "statusCode": 200,
                        "headers": {"Content-Type": "image/png"},
                        "body": base64.b64encode(png).decode(),
                        "isBase64Encoded": True,
                    }
                ),
            ),
            "Plain": (spec("Plain", "BUFFERED"), buffered("Hello, world!")),
            "Fails": (spec("Fails", "BUFFERED"), failing()),
            "Huge": (spec("Huge", "BUFFERED"), buffered("x" * (6 * 1024 * 1024 + 100))),
        }
    )
    with serving(engine, auth=False) as server:
        html = requests.get(f"{server.base_url}/Html/", timeout=TIMEOUT)
        assert (html.status_code, html.text) == (201, "<b>hi</b>")
        assert html.headers["Content-Type"] == "text/html" and html.headers["X-A"] == "1"
        assert html.raw.headers.getlist("Set-Cookie") == ["s=1", "t=2"]
        assert "Transfer-Encoding" not in html.headers
        image = requests.get(f"{server.base_url}/Png/", timeout=TIMEOUT)
        assert image.content == png and image.headers["Content-Type"] == "image/png"
        plain = requests.get(f"{server.base_url}/Plain/", timeout=TIMEOUT)
        assert plain.status_code == 200
        assert plain.headers["Content-Type"] == "application/json"
        assert plain.content == b'"Hello, world!"'
        fails = requests.get(f"{server.base_url}/Fails/", timeout=TIMEOUT)
        assert (fails.status_code, fails.content) == (502, b"Internal Server Error")
        huge = requests.get(f"{server.base_url}/Huge/", timeout=TIMEOUT)
        assert huge.status_code == 502


def test_throttled_past_max_concurrency() -> None:
    gate, produced = Gate(), []
    engine = ScriptedEngine({"Fn": (spec("Fn"), gated_stream(gate, produced))}, max_concurrency=1)
    with serving(engine, auth=False) as server:
        busy = requests.get(f"{server.base_url}/Fn/", stream=True, timeout=TIMEOUT)
        busy_chunks = busy.iter_content(chunk_size=None)
        assert next(busy_chunks) == b"first;"
        throttled = requests.get(f"{server.base_url}/Fn/", timeout=TIMEOUT)
        assert throttled.status_code == 429
        assert throttled.json() == {"Message": "Rate Exceeded."}
        gate.open()
        assert b"".join(busy_chunks) == b"second;"


def test_event_built_from_the_request() -> None:
    engine = ScriptedEngine({"Echo": (spec("Echo", "BUFFERED"), echo_event())})
    with serving(engine, auth=False) as server:
        root = requests.get(f"{server.base_url}/Echo", timeout=TIMEOUT).json()
        assert root["rawPath"] == "/" and root["requestContext"]["http"]["path"] == "/"
        response = requests.post(
            f"{server.base_url}/Echo/a/b%20c?x=1&x=2",
            data=b"\x00\x01binary",
            headers={
                "Content-Type": "application/octet-stream",
                "Cookie": "k=v; j=w",
                "X-Rep": "1",
            },
            timeout=TIMEOUT,
        )
        event = response.json()
    assert event["rawPath"] == "/a/b%20c"
    assert event["rawQueryString"] == "x=1&x=2"
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["k=v", "j=w"]
    assert event["headers"]["x-rep"] == "1"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01binary"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["requestId"] == response.headers["x-amzn-RequestId"]


def sign(method: str, url: str, body: bytes = b"", secret: str = KEY.secret_key) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(Credentials(KEY.access_key, secret), "lambda", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_aws_iam_url_requires_a_valid_signature() -> None:
    engine = ScriptedEngine({"Private": (spec("Private", "BUFFERED", "AWS_IAM"), echo_event())})
    with serving(engine, verifier=SigV4Verifier(KEY)) as server:
        url = f"{server.base_url}/Private/path?q=1"
        body = b'{"hello": "world"}'
        good = requests.post(url, data=body, headers=sign("POST", url, body), timeout=TIMEOUT)
        assert good.status_code == 200
        iam = good.json()["requestContext"]["authorizer"]["iam"]
        assert iam["accessKey"] == KEY.access_key
        unsigned = requests.post(url, data=body, timeout=TIMEOUT)
        assert (unsigned.status_code, unsigned.json()) == (403, {"Message": "Forbidden"})
        wrong = requests.post(
            url, data=body, headers=sign("POST", url, body, "nope"), timeout=TIMEOUT
        )
        assert wrong.status_code == 403
        tampered = requests.post(url, data=b"{}", headers=sign("POST", url, body), timeout=TIMEOUT)
        assert tampered.status_code == 403
    assert len(engine.invocations) == 1  # rejected requests never reach the function


def test_no_auth_accepts_unsigned_requests() -> None:
    engine = ScriptedEngine({"Private": (spec("Private", "BUFFERED", "AWS_IAM"), buffered("ok"))})
    with serving(engine, auth=False) as server:
        assert requests.get(f"{server.base_url}/Private/", timeout=TIMEOUT).json() == "ok"


CORS = CorsConfig(
    allow_origins=("http://localhost:8080",),
    allow_methods=("GET", "POST"),
    allow_headers=("content-type",),
    expose_headers=("x-amzn-requestid",),
    max_age=300,
)


def test_cors_preflight_is_answered_by_the_url() -> None:
    engine = ScriptedEngine(
        {
            "Web": (
                spec("Web", cors=CORS, auth_type="AWS_IAM"),
                streamed(b"x", content_type="text/plain"),
            )
        }
    )
    with serving(engine, verifier=SigV4Verifier(KEY)) as server:
        preflight = requests.options(
            f"{server.base_url}/Web/",
            headers={
                "Origin": "http://localhost:8080",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
            timeout=TIMEOUT,
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
        assert preflight.headers["Access-Control-Allow-Methods"] == "GET, POST"
        assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"
        assert preflight.headers["Access-Control-Max-Age"] == "300"
        url = f"{server.base_url}/Web/"
        actual = requests.get(
            url, headers={"Origin": "http://localhost:8080", **sign("GET", url)}, timeout=TIMEOUT
        )
        assert actual.content == b"x"
        assert actual.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
        assert actual.headers["Access-Control-Expose-Headers"] == "x-amzn-requestid"
        other = requests.get(
            url, headers={"Origin": "http://evil.example", **sign("GET", url)}, timeout=TIMEOUT
        )
        assert "Access-Control-Allow-Origin" not in other.headers
    assert len(engine.invocations) == 2  # the preflight never invoked the function


def test_root_and_unknown_paths_are_not_functions() -> None:
    engine = ScriptedEngine(
        {
            "Fn": (spec("Fn"), buffered("x")),
            "NoUrl": (spec("NoUrl", invoke_mode=None), buffered("x")),
        }
    )
    with serving(engine, auth=False) as server:
        assert requests.get(f"{server.base_url}/", timeout=TIMEOUT).status_code == 404
        assert requests.get(f"{server.base_url}/NoUrl/", timeout=TIMEOUT).status_code == 404
        assert requests.get(f"{server.base_url}/FnX/", timeout=TIMEOUT).status_code == 404
    assert engine.invocations == []


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_sigv4_signing_is_accepted() -> None:
    """curl's own SigV4 implementation (--aws-sigv4) agrees with the verifier: not only botocore."""
    engine = ScriptedEngine({"Private": (spec("Private", "BUFFERED", "AWS_IAM"), echo_event())})
    with serving(engine, verifier=SigV4Verifier(KEY)) as server:
        url = f"{server.base_url}/Private/x?a=1&b=2"

        def curl(secret: str) -> str:
            sigv4 = [
                "--aws-sigv4",
                "aws:amz:us-east-1:lambda",
                "--user",
                f"{KEY.access_key}:{secret}",
            ]
            body = ["-H", "content-type: application/json", "-d", '{"k": 1}']
            command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *sigv4, *body, url]
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
            return done.stdout

        assert curl(KEY.secret_key) == "200"
        assert curl("wrong-secret") == "403"

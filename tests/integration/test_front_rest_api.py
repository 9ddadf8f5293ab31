"""The REST API front over real HTTP, against the real engine and the fixture app
(tests/fixtures/rest_app): payload-1.0 events as the functions see them, streamed and buffered
proxy integrations, API Gateway's own answers, SigV4 for execute-api."""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from streamlab.emulator.auth import SigV4Verifier
from streamlab.emulator.rest_template import load_rest_apis
from streamlab.emulator.server import EmulatorServer
from tests.support.front_server import serving_template

TEMPLATE = Path(__file__).parents[1] / "fixtures" / "rest_app" / "template.yaml"
KEY = ReadOnlyCredentials("AKIDRESTTEST", "rest-test-secret", None)
TIMEOUT = 20


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    apis = load_rest_apis(TEMPLATE)
    with serving_template(TEMPLATE, rest_apis=apis, verifier=SigV4Verifier(KEY)) as running:
        yield running


def implicit(server: EmulatorServer) -> str:
    return f"{server.base_url}/ServerlessRestApi/Prod"


def explicit(server: EmulatorServer) -> str:
    return f"{server.base_url}/StreamApi/live"


def echoed(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    return json.loads(response.content)


def test_listing_has_one_line_per_stage(server: EmulatorServer) -> None:
    rows = {
        (row.function_name, row.url, row.invoke_mode, row.auth_type) for row in server.listings()
    }
    assert ("ServerlessRestApi", implicit(server) + "/", "REST_API", "NONE") in rows
    assert ("StreamApi", explicit(server) + "/", "REST_API", "AWS_IAM|NONE") in rows
    assert (
        "StreamFunction",
        f"{server.base_url}/StreamFunction/",
        "RESPONSE_STREAM",
        "NONE",
    ) in rows


def test_get_with_repeated_query_and_a_path_parameter(server: EmulatorServer) -> None:
    event = echoed(
        requests.get(
            f"{implicit(server)}/items/42?tag=a&tag=b&one=x%20y",
            headers={"X-Custom": "v1", "User-Agent": "rest-test/1"},
            timeout=TIMEOUT,
        )
    )
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"tag": "b", "one": "x y"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "one": ["x y"]}
    assert event["headers"]["X-Custom"] == "v1"
    assert event["multiValueHeaders"]["X-Custom"] == ["v1"]
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "Prod"
    assert context["resourcePath"] == "/items/{id}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/Prod/items/42"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "rest-test/1"
    assert context["requestId"] and context["apiId"]


def test_repeated_headers_keep_last_value_and_all_values() -> None:
    """requests folds repeated headers; http.client sends them as the client wrote them."""
    apis = load_rest_apis(TEMPLATE)
    with serving_template(TEMPLATE, rest_apis=apis, auth=False) as running:
        connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=TIMEOUT)
        connection.putrequest("GET", "/ServerlessRestApi/Prod/search?q=1")
        connection.putheader("X-Rep", "first")
        connection.putheader("X-Rep", "second")
        connection.endheaders()
        response = connection.getresponse()
        event = json.loads(response.read())
        connection.close()
    assert event["headers"]["X-Rep"] == "second"
    assert event["multiValueHeaders"]["X-Rep"] == ["first", "second"]
    assert event["resource"] == "/search" and event["pathParameters"] is None


def test_post_json_and_a_binary_body(server: EmulatorServer) -> None:
    document = {"prompt": "h\u00e9", "n": 1}
    event = echoed(requests.post(f"{implicit(server)}/echo", json=document, timeout=TIMEOUT))
    assert event["isBase64Encoded"] is False and json.loads(event["body"]) == document
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    event = echoed(
        requests.post(
            f"{implicit(server)}/echo",
            data=png,
            headers={"Content-Type": "image/png"},
            timeout=TIMEOUT,
        )
    )
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == png


def test_greedy_path_any_method_and_literal_precedence(server: EmulatorServer) -> None:
    event = echoed(requests.put(f"{implicit(server)}/files/a/b/c.txt", data=b"x", timeout=TIMEOUT))
    assert event["resource"] == "/files/{proxy+}" and event["httpMethod"] == "PUT"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    literal = echoed(requests.get(f"{implicit(server)}/files/readme", timeout=TIMEOUT))
    assert literal["resource"] == "/files/readme" and literal["pathParameters"] is None


def test_unrouted_requests_get_missing_authentication_token(server: EmulatorServer) -> None:
    for method, url in (
        ("GET", f"{implicit(server)}/nothing"),
        ("DELETE", f"{implicit(server)}/search"),
        ("GET", f"{implicit(server)}/files"),
    ):
        response = requests.request(method, url, timeout=TIMEOUT)
        assert response.status_code == 403, url
        assert response.json() == {"message": "Missing Authentication Token"}
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_buffered_proxy_results(server: EmulatorServer) -> None:
    ok = requests.get(f"{implicit(server)}/result?kind=ok", timeout=TIMEOUT)
    assert ok.status_code == 201 and ok.content == b"made"
    assert ok.headers["Content-Type"] == "text/plain"
    assert ok.headers["X-Single"] == "one"
    assert ok.raw.headers.getlist("X-Multi") == ["a", "b"]
    assert ok.raw.headers.getlist("Set-Cookie") == ["c1=1", "c2=2"]
    binary = requests.get(
        f"{implicit(server)}/result?kind=binary", headers={"Accept": "image/png"}, timeout=TIMEOUT
    )
    assert binary.content == b"\x89PNG\r"
    as_text = requests.get(f"{implicit(server)}/result?kind=binary", timeout=TIMEOUT)
    assert as_text.content == b"iVBORw0="  # no binary Accept: API Gateway passes base64 on
    for kind in ("malformed", "extra", "raise", "string"):
        bad = requests.get(f"{implicit(server)}/result?kind={kind}", timeout=TIMEOUT)
        assert bad.status_code == 502, kind
        assert bad.json() == {"message": "Internal server error"}, kind
    assert requests.get(f"{implicit(server)}/result?kind=ok", timeout=TIMEOUT).status_code == 201


def sign(method: str, url: str, service: str = "execute-api") -> dict[str, str]:
    request = AWSRequest(method=method, url=url)
    SigV4Auth(Credentials(KEY.access_key, KEY.secret_key), service, "us-east-1").add_auth(request)
    return dict(request.headers)


def test_stream_arrives_chunk_by_chunk_with_head_as_sent(server: EmulatorServer) -> None:
    url = f"{explicit(server)}/public/stream?count=4&interval=0.3"
    started = time.monotonic()
    arrivals: list[tuple[float, bytes]] = []
    with requests.get(url, stream=True, timeout=TIMEOUT) as response:
        assert response.status_code == 203
        assert response.headers["Content-Type"] == "text/plain"
        assert response.headers["X-Single"] == "one"
        assert response.raw.headers.getlist("X-Multi") == ["a", "b"]
        assert response.raw.headers.getlist("Set-Cookie") == ["s=1; Path=/", "t=2; HttpOnly"]
        assert response.headers["Transfer-Encoding"] == "chunked"
        for data in response.iter_content(chunk_size=None):
            arrivals.append((time.monotonic() - started, data))
    assert b"".join(data for _, data in arrivals) == b"part 0\npart 1\npart 2\npart 3\n"
    assert arrivals[-1][0] - arrivals[0][0] >= 0.7 * 3 * 0.3  # not buffered


def test_mid_stream_failure_truncates_then_next_request_succeeds(server: EmulatorServer) -> None:
    received = b""
    with (
        pytest.raises(requests.exceptions.ChunkedEncodingError),
        requests.get(f"{explicit(server)}/public/stream?fail=1", stream=True, timeout=TIMEOUT) as r,
    ):
        assert r.status_code == 203  # the head went out before the failure
        for data in r.iter_content(chunk_size=None):
            received += data
    assert received == b"part 0\n"
    again = requests.get(f"{explicit(server)}/public/stream?count=1&interval=0", timeout=TIMEOUT)
    assert again.status_code == 203 and again.content == b"part 0\n"


def test_the_same_function_through_its_function_url_gets_a_2_0_event(
    server: EmulatorServer,
) -> None:
    response = requests.get(
        f"{server.base_url}/StreamFunction/?count=2&interval=0", timeout=TIMEOUT
    )
    assert response.status_code == 203 and response.content == b"part 0\npart 1\n"
    assert response.raw.headers.getlist("Set-Cookie") == ["s=1; Path=/", "t=2; HttpOnly"]


def test_iam_method_needs_an_execute_api_signature(server: EmulatorServer) -> None:
    url = f"{explicit(server)}/stream?count=1&interval=0"
    unsigned = requests.get(url, timeout=TIMEOUT)
    assert unsigned.status_code == 403
    assert unsigned.json() == {"message": "Missing Authentication Token"}
    for_lambda = requests.get(url, headers=sign("GET", url, "lambda"), timeout=TIMEOUT)
    assert for_lambda.status_code == 403
    assert "execute-api" in for_lambda.json()["message"]
    signed = requests.get(url, headers=sign("GET", url), timeout=TIMEOUT)
    assert signed.status_code == 203 and signed.content == b"part 0\n"


def test_preflight_unsigned_with_the_configured_values(server: EmulatorServer) -> None:
    headers = {"Origin": "https://x.example", "Access-Control-Request-Method": "GET"}
    response = requests.options(f"{explicit(server)}/stream", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS,POST"
    assert response.headers["Access-Control-Allow-Headers"] == "content-type,authorization"
    assert response.headers["Access-Control-Max-Age"] == "300"
    nowhere = requests.options(f"{explicit(server)}/nowhere", headers=headers, timeout=TIMEOUT)
    assert nowhere.status_code == 403

"""The layer's fronts: 1.0 and 2.0 events in, one request out; each front's response head,
BUFFERED result and CORS."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from lambda_streaming.http.buffered import buffered_result
from lambda_streaming.http.cors import cors_headers
from lambda_streaming.http.front import BadEvent, front_for, request_from_event
from lambda_streaming.http.function_url import FUNCTION_URL
from lambda_streaming.http.prelude import http_metadata
from lambda_streaming.http.responses import StreamingResponse
from lambda_streaming.http.rest_api import REST_API
from token_stream.prompt import Limits, PromptRequest, RequestError, parse_request

EVENTS = Path(__file__).parents[2] / "events"
LIMITS = Limits(max_prompt_chars=20, default_max_tokens=8, max_tokens=100)


def rest_event(
    method: str = "GET",
    multi_query: dict[str, list[str]] | None = None,
    body: str | None = None,
    *,
    base64_body: bool = False,
    multi_headers: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A payload-1.0 event shaped as API Gateway sends it (absent maps are null)."""
    query = {k: v[-1] for k, v in multi_query.items()} if multi_query else None
    headers = {k: v[-1] for k, v in multi_headers.items()} if multi_headers else None
    return {
        "resource": "/sse",
        "path": "/sse",
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"stage": "prod", "identity": {"sourceIp": "203.0.113.7"}},
        "body": body,
        "isBase64Encoded": base64_body,
    }


URL_EVENT = json.loads((EVENTS / "sse" / "get.json").read_text())
REST_EVENT = json.loads((EVENTS / "sse" / "rest-get.json").read_text())


def test_front_is_read_from_the_event() -> None:
    assert front_for(URL_EVENT) is FUNCTION_URL and FUNCTION_URL.VERSION == "2.0"
    assert front_for(REST_EVENT) is REST_API and REST_API.VERSION == "1.0"
    for not_http in ({}, {"version": "2.0"}, {"httpMethod": 3}, [], "x", None):
        with pytest.raises(BadEvent):
            front_for(not_http)


def test_both_samples_become_the_same_request() -> None:
    url, rest = request_from_event(URL_EVENT), request_from_event(REST_EVENT)
    assert (url.front, rest.front) == (FUNCTION_URL, REST_API)
    assert url.method == rest.method == "GET"
    assert url.query == rest.query == [("prompt", "Why stream responses?"), ("max_tokens", "8")]
    assert url.header("accept") == rest.header("Accept") == "text/event-stream"
    assert url.body == rest.body == b""
    assert url.source_ip == rest.source_ip == "203.0.113.7"
    assert (url.path, rest.path) == ("/", "/sse")


def test_paths_arrive_percent_encoded_and_are_decoded_once() -> None:
    """Both fronts deliver the path as the client sent it; %2F stays apart from /."""
    raw = "/echo/caf%C3%A9/a%2Fb"
    url = request_from_event({**URL_EVENT, "rawPath": raw})
    rest_event_ = {**REST_EVENT, "path": raw}
    rest_event_["requestContext"] = {**REST_EVENT["requestContext"], "path": "/prod" + raw}
    rest = request_from_event(rest_event_)
    for request in (url, rest):
        assert request.raw_path == raw
        assert request.path == "/echo/café/a/b"
    assert (url.raw_root_path, rest.raw_root_path, rest.root_path) == ("", "/prod", "/prod")


def test_rest_request_keeps_every_value() -> None:
    event = rest_event(
        multi_query={"a": ["1", "2"], "b": ["x y"]},
        multi_headers={"X-Rep": ["one", "two"]},
        body=base64.b64encode(b"\x00\xff").decode(),
        base64_body=True,
    )
    request = request_from_event(event)
    assert request.query == [("a", "1"), ("a", "2"), ("b", "x y")]
    assert request.query_string == "a=1&a=2&b=x+y"
    assert request.query_param("a") == "2"
    assert request.headers == [("x-rep", "one"), ("x-rep", "two")]
    assert request.header("X-REP") == "two"
    assert request.body == b"\x00\xff"


def test_url_request_cookies_become_a_cookie_header() -> None:
    event = {**URL_EVENT, "cookies": ["a=1", "b=2"]}
    assert request_from_event(event).header("cookie") == "a=1; b=2"


def test_bad_base64_body_is_a_bad_event() -> None:
    with pytest.raises(BadEvent, match="base64"):
        request_from_event(rest_event("POST", body="!!!", base64_body=True))


def test_prompt_from_rest_events() -> None:
    get = rest_event(multi_query={"prompt": ["first", "hi"], "max_tokens": ["5"]})
    assert parse_request(get, LIMITS) == PromptRequest(prompt="hi", max_tokens=5)  # last value
    body = json.dumps({"prompt": "\u00fcn", "max_tokens": 3}).encode()
    post = rest_event("POST", body=base64.b64encode(body).decode(), base64_body=True)
    assert parse_request(post, LIMITS) == PromptRequest(prompt="\u00fcn", max_tokens=3)
    with pytest.raises(RequestError) as wrong:
        parse_request(rest_event("DELETE"), LIMITS)
    assert wrong.value.status_code == 405
    with pytest.raises(RequestError) as missing:
        parse_request(rest_event(), LIMITS)
    assert missing.value.code == "missing_prompt"
    with pytest.raises(RequestError) as neither:
        parse_request({"resource": "/sse"}, LIMITS)
    assert neither.value.code == "invalid_event"
    assert "1.0" in neither.value.message and "2.0" in neither.value.message


def test_multi_value_headers_are_validated_like_headers() -> None:
    metadata = http_metadata({"multiValueHeaders": {"X-M": ["a", 2]}})
    assert metadata["multiValueHeaders"] == {"X-M": ["a", "2"]}
    for bad in ({"X-M": "a"}, {"X-M": [None]}, {"X-M": [["a"]]}, ["X-M"]):
        with pytest.raises(TypeError):
            http_metadata({"multiValueHeaders": bad})
    # The same framing checks as single values: no response splitting through a list.
    for bad in ({"X-M": ["ok", "a\r\nX-Evil: 1"]}, {"X-M": ["\0"]}, {"Bad Name": ["a"]}):
        with pytest.raises(ValueError):
            http_metadata({"multiValueHeaders": bad})


def test_streaming_response_sends_multi_value_headers() -> None:
    response = StreamingResponse(
        "x", headers={"X-S": "1"}, multi_value_headers={"X-M": ("a", "b")}, cookies=["c=1"]
    )
    assert response.metadata() == {
        "statusCode": 200,
        "headers": {"X-S": "1"},
        "multiValueHeaders": {"X-M": ["a", "b"]},
        "cookies": ["c=1"],
    }
    assert "multiValueHeaders" not in StreamingResponse("x").metadata()


def test_buffered_rest_result_has_only_proxy_fields_and_cookies_as_set_cookie() -> None:
    prelude = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain"},
        "multiValueHeaders": {"set-cookie": ["z=0"], "X-M": ["a", "b"]},
        "cookies": ["a=1; Path=/", "b=2"],
    }
    stream = json.dumps(prelude).encode() + b"\x00" * 8 + b"body"
    http = "application/vnd.awslambda.http-integration-response"
    body, content_type = buffered_result(URL_EVENT, stream, http)
    assert content_type == "application/json"
    assert json.loads(body)["cookies"] == ["a=1; Path=/", "b=2"]
    assert json.loads(buffered_result(REST_EVENT, stream, http)[0]) == {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain"},
        "multiValueHeaders": {"set-cookie": ["z=0", "a=1; Path=/", "b=2"], "X-M": ["a", "b"]},
        "body": "body",
        "isBase64Encoded": False,
    }
    plain = json.loads(buffered_result(REST_EVENT, b"\xff\x00", "application/octet-stream")[0])
    assert set(plain) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert plain["isBase64Encoded"] is True and base64.b64decode(plain["body"]) == b"\xff\x00"
    # a direct invoke (no front): what the Function URL would have answered
    direct = json.loads(buffered_result({"any": 1}, b"hi", "text/plain")[0])
    assert direct == {
        "statusCode": 200,
        "headers": {"Content-Type": "text/plain"},
        "body": "hi",
        "isBase64Encoded": False,
    }


def test_response_head_for_each_front() -> None:
    headers = [
        (b"content-type", b"text/plain"),
        (b"content-length", b"5"),
        (b"vary", b"a"),
        (b"Vary", b"b"),
        (b"set-cookie", b"x=1"),
        (b"set-cookie", b"y=2"),
        (b"x-utf8", "café".encode()),
    ]
    assert FUNCTION_URL.response_head(201, headers) == {
        "statusCode": 201,
        "headers": {"content-type": "text/plain", "vary": "a, b", "x-utf8": "café"},
        "cookies": ["x=1", "y=2"],
    }
    assert REST_API.response_head(201, headers) == {
        "statusCode": 201,
        "headers": {"content-type": "text/plain", "x-utf8": "café"},
        "multiValueHeaders": {"vary": ["a", "b"], "Set-Cookie": ["x=1", "y=2"]},
    }


@pytest.mark.parametrize(
    ("status", "headers", "problem"),
    [
        (200, [(b"bad name", b"v")], "not an HTTP token"),
        (200, [(b"x-a", b"v\r\nInjected: 1")], "CR, LF or NUL"),
        (200, [(1, b"v")], "must be bytes or str"),
        (99, [], "100 to 599"),
        (True, [], "100 to 599"),
    ],
)
def test_bad_response_head_is_refused_by_either_front(
    status: Any, headers: Any, problem: str
) -> None:
    for front in (FUNCTION_URL, REST_API):
        with pytest.raises((ValueError, TypeError), match=problem):
            front.response_head(status, headers)


def test_cors_headers_only_for_rest_events_with_an_allowed_origin() -> None:
    with_origin = rest_event(multi_headers={"Origin": ["https://app.example"]})
    assert cors_headers(with_origin, "*") == {"Access-Control-Allow-Origin": "*"}
    assert cors_headers(with_origin, "https://x.example, https://APP.example/") == {
        "Access-Control-Allow-Origin": "https://app.example",
        "Vary": "Origin",
    }
    # the answer depends on Origin: Vary says so, also when this origin gets no CORS header
    assert cors_headers(with_origin, "https://x.example") == {"Vary": "Origin"}
    assert cors_headers(rest_event(), "https://x.example") == {"Vary": "Origin"}
    assert cors_headers(with_origin, "") == {}
    assert cors_headers(rest_event(), "*") == {}  # no Origin: not a CORS request
    url_event = {**URL_EVENT, "headers": {**URL_EVENT["headers"], "origin": "https://a.example"}}
    assert cors_headers(url_event, "*") == {}  # the Function URL adds its own
    assert cors_headers({"direct": "invoke"}, "*") == {}


def test_cors_headers_read_origin_without_decoding_the_body() -> None:
    # an invalid base64 body used to cost the CORS header (a whole Request was built)
    event = rest_event(multi_headers={"origin": ["https://app.example"]})
    event.update(body="not base64!", isBase64Encoded=True)
    assert cors_headers(event, "https://app.example") == {
        "Access-Control-Allow-Origin": "https://app.example",
        "Vary": "Origin",
    }
    # multiValueHeaders win over headers, and the last value counts, as Request.header reads it
    event = rest_event(multi_headers={"ORIGIN": ["https://x.example", "https://app.example"]})
    event["headers"] = {"Origin": "https://x.example"}
    assert cors_headers(event, "https://app.example")["Access-Control-Allow-Origin"] == (
        "https://app.example"
    )

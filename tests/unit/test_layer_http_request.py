"""The layer's HTTP side for both fronts: 1.0 and 2.0 events in, REST and URL results out."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from lambda_streaming.http.buffered import function_url_result, rest_proxy_result
from lambda_streaming.http.request import Request, event_method, event_version, is_rest_event
from lambda_streaming.http.responses import StreamingResponse
from lambda_streaming.http.stream import http_metadata
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


def test_version_is_read_from_the_event() -> None:
    assert event_version(URL_EVENT) == "2.0" and not is_rest_event(URL_EVENT)
    assert event_version(REST_EVENT) == "1.0" and is_rest_event(REST_EVENT)
    assert event_method(URL_EVENT) == event_method(REST_EVENT) == "GET"
    for not_http in ({}, {"version": "2.0"}, {"httpMethod": 3}, [], "x", None):
        assert not is_rest_event(not_http)
        with pytest.raises(ValueError):
            event_version(not_http)  # type: ignore[arg-type]


def test_both_samples_become_the_same_request() -> None:
    url, rest = Request.from_event(URL_EVENT), Request.from_event(REST_EVENT)
    assert (url.version, rest.version) == ("2.0", "1.0")
    assert url.method == rest.method == "GET"
    assert url.query == rest.query == [("prompt", "Why stream responses?"), ("max_tokens", "8")]
    assert url.header("accept") == rest.header("Accept") == "text/event-stream"
    assert url.body == rest.body == b""
    assert url.source_ip == rest.source_ip == "203.0.113.7"
    assert (url.path, rest.path) == ("/", "/sse")


def test_rest_request_keeps_every_value() -> None:
    event = rest_event(
        multi_query={"a": ["1", "2"], "b": ["x y"]},
        multi_headers={"X-Rep": ["one", "two"]},
        body=base64.b64encode(b"\x00\xff").decode(),
        base64_body=True,
    )
    request = Request.from_event(event)
    assert request.query == [("a", "1"), ("a", "2"), ("b", "x y")]
    assert request.raw_query == "a=1&a=2&b=x+y"
    assert request.query_param("a") == "2"
    assert request.headers == [("x-rep", "one"), ("x-rep", "two")]
    assert request.header("X-REP") == "two"
    assert request.body == b"\x00\xff"


def test_url_request_cookies_become_a_cookie_header() -> None:
    event = {**URL_EVENT, "cookies": ["a=1", "b=2"]}
    assert Request.from_event(event).header("cookie") == "a=1; b=2"


def test_bad_base64_body_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="base64"):
        Request.from_event(rest_event("POST", body="!!!", base64_body=True))


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
    url = function_url_result(stream, "application/vnd.awslambda.http-integration-response")
    assert url["cookies"] == ["a=1; Path=/", "b=2"]
    rest = rest_proxy_result(url)
    assert rest == {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain"},
        "multiValueHeaders": {"set-cookie": ["z=0", "a=1; Path=/", "b=2"], "X-M": ["a", "b"]},
        "body": "body",
        "isBase64Encoded": False,
    }
    plain = rest_proxy_result(function_url_result(b"\xff\x00", "application/octet-stream"))
    assert set(plain) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert plain["isBase64Encoded"] is True and base64.b64decode(plain["body"]) == b"\xff\x00"


def test_rest_cors_headers_only_for_rest_events_with_an_allowed_origin() -> None:
    from lambda_streaming.http.cors import rest_cors_headers

    with_origin = rest_event(multi_headers={"Origin": ["https://app.example"]})
    assert rest_cors_headers(with_origin, "*") == {"Access-Control-Allow-Origin": "*"}
    assert rest_cors_headers(with_origin, "https://x.example, https://APP.example/") == {
        "Access-Control-Allow-Origin": "https://app.example",
        "Vary": "Origin",
    }
    # the answer depends on Origin: Vary says so, also when this origin gets no CORS header
    assert rest_cors_headers(with_origin, "https://x.example") == {"Vary": "Origin"}
    assert rest_cors_headers(rest_event(), "https://x.example") == {"Vary": "Origin"}
    assert rest_cors_headers(with_origin, "") == {}
    assert rest_cors_headers(rest_event(), "*") == {}  # no Origin: not a CORS request
    url_event = {**URL_EVENT, "headers": {**URL_EVENT["headers"], "origin": "https://a.example"}}
    assert rest_cors_headers(url_event, "*") == {}  # the Function URL adds its own


def test_rest_cors_headers_read_origin_without_decoding_the_body() -> None:
    from lambda_streaming.http.cors import rest_cors_headers

    # an invalid base64 body used to cost the CORS header (a whole Request was built)
    event = rest_event(multi_headers={"origin": ["https://app.example"]})
    event.update(body="not base64!", isBase64Encoded=True)
    assert rest_cors_headers(event, "https://app.example") == {
        "Access-Control-Allow-Origin": "https://app.example",
        "Vary": "Origin",
    }
    # multiValueHeaders win over headers, and the last value counts, as Request.header reads it
    event = rest_event(multi_headers={"ORIGIN": ["https://x.example", "https://app.example"]})
    event["headers"] = {"Origin": "https://x.example"}
    assert rest_cors_headers(event, "https://app.example")["Access-Control-Allow-Origin"] == (
        "https://app.example"
    )

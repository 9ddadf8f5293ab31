"""The ASGI adapter's pure mappings: events to scopes, response starts to preludes."""

from __future__ import annotations

from typing import Any

import pytest

from lambda_streaming.asgi.response import response_metadata
from lambda_streaming.asgi.scope import BadEvent, request_from_event
from tests.support import asgi_events as ev


def scope_of(event: dict[str, Any]) -> dict[str, Any]:
    return request_from_event(event).scope


def test_v1_stage_custom_domain_and_default_stage() -> None:
    event = ev.v1("GET", "/items/a b", "q=1&q=2&x=%C3%A9")
    scope = scope_of(event)
    assert (scope["root_path"], scope["path"]) == ("/Prod", "/Prod/items/a b")
    assert scope["raw_path"] == b"/Prod/items/a%20b"
    assert scope["query_string"] == b"q=1&q=2&x=%C3%A9"
    # a custom domain with base path "api": the client path is /api/items
    event["requestContext"]["path"] = "/api/items/a%20b"
    assert scope_of(event)["root_path"] == "/api"
    # a custom domain mapped at its root: nothing before the path
    event["requestContext"]["path"] = "/items/a b"
    assert scope_of(event)["root_path"] == ""
    # no client path known: the stage, unless it is $default
    del event["requestContext"]["path"]
    assert scope_of(event)["root_path"] == "/Prod"
    event["requestContext"]["stage"] = "$default"
    assert scope_of(event)["root_path"] == ""


def test_v1_single_value_fallbacks_and_client() -> None:
    event = ev.v1("GET", "/", "a=1")
    del event["multiValueHeaders"], event["multiValueQueryStringParameters"]
    scope = scope_of(event)
    assert scope["query_string"] == b"a=1"
    assert (b"host", b"abc123.execute-api.us-east-1.amazonaws.com") in scope["headers"]
    assert scope["client"] == ("198.51.100.9", 0)
    assert scope["server"] == ("abc123.execute-api.us-east-1.amazonaws.com", 443)
    assert request_from_event(event).rest is True


def test_v2_headers_cookies_server_and_version() -> None:
    event = ev.v2("POST", "/p", headers={"host": "[::1]:3000", "x-forwarded-proto": "http"})
    event["cookies"] = ["a=1", "b=2"]
    event["requestContext"]["http"]["protocol"] = "HTTP/2.0"
    scope = scope_of(event)
    assert scope["server"] == ("::1", 3000)
    assert scope["scheme"] == "http"
    assert scope["http_version"] == "2"
    assert (b"cookie", b"a=1; b=2") in scope["headers"]
    assert all(name == name.lower() for name, _ in scope["headers"])
    assert request_from_event(event).rest is False


def test_bodies() -> None:
    assert request_from_event(ev.v2("POST", "/", body=b"\x00\xff")).body == b"\x00\xff"
    event = ev.v2("POST", "/")
    event["body"] = "héllo"
    assert request_from_event(event).body == "héllo".encode()
    event["isBase64Encoded"] = True
    with pytest.raises(BadEvent, match="not base64"):
        request_from_event(event)


@pytest.mark.parametrize("event", [[], {"Records": []}, {"version": "2.0"}, "text"])
def test_not_an_http_event(event: Any) -> None:
    with pytest.raises(BadEvent):
        request_from_event(event)


def test_metadata_for_each_payload_version() -> None:
    headers = [
        (b"content-type", b"text/plain"),
        (b"content-length", b"5"),
        (b"vary", b"a"),
        (b"vary", b"b"),
        (b"set-cookie", b"x=1"),
        (b"set-cookie", b"y=2"),
    ]
    assert response_metadata(201, headers, rest=False) == {
        "statusCode": 201,
        "headers": {"content-type": "text/plain", "vary": "a, b"},
        "cookies": ["x=1", "y=2"],
    }
    assert response_metadata(201, headers, rest=True) == {
        "statusCode": 201,
        "headers": {"content-type": "text/plain"},
        "multiValueHeaders": {"vary": ["a", "b"], "Set-Cookie": ["x=1", "y=2"]},
    }


@pytest.mark.parametrize(
    ("status", "headers", "problem"),
    [
        (200, [(b"bad name", b"v")], "not an HTTP token"),
        (200, [(b"x-a", b"v\r\nInjected: 1")], "CR, LF or NUL"),
        (200, [(1, b"v")], "must be bytes"),
        (99, [], "100-599"),
        (True, [], "100-599"),
    ],
)
def test_bad_response_start_is_refused(status: Any, headers: Any, problem: str) -> None:
    with pytest.raises((ValueError, TypeError), match=problem):
        response_metadata(status, headers, rest=False)

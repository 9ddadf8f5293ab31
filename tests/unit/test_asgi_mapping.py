"""The ASGI adapter's pure mapping: a request from either front to the scope uvicorn builds."""

from __future__ import annotations

from typing import Any

import pytest

from lambda_streaming.asgi.scope import http_scope
from lambda_streaming.http.front import BadEvent, request_from_event
from lambda_streaming.http.rest_api import REST_API
from tests.support import asgi_events as ev


def scope_of(event: dict[str, Any]) -> dict[str, Any]:
    return http_scope(request_from_event(event))


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
    event["requestContext"]["path"] = "/items/a%20b"
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
    assert request_from_event(event).front is REST_API


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
    assert request_from_event(event).front is not REST_API


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


@pytest.mark.parametrize("make", [ev.v1, ev.v2])
def test_percent_encoded_paths_as_uvicorn_gives_them(make: Any) -> None:
    """UTF-8 decoded in ``path``, kept as sent in ``raw_path``: %2F is not a segment break."""
    scope = scope_of(make("GET", "/echo/caf%C3%A9/%E2%9C%93/a%2Fb"))
    root = scope["root_path"]
    assert scope["path"] == root + "/echo/café/✓/a/b"
    assert scope["raw_path"] == root.encode() + b"/echo/caf%C3%A9/%E2%9C%93/a%2Fb"


@pytest.mark.parametrize("make", [ev.v1, ev.v2])
def test_utf8_header_values_reach_the_app_as_the_bytes_sent(make: Any) -> None:
    headers = {"X-Unicode": ["café"]} if make is ev.v1 else {"x-unicode": "café"}
    scope = scope_of(make("GET", "/", headers=headers))
    assert (b"x-unicode", "café".encode()) in scope["headers"]

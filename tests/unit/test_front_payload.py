"""HTTP request -> Function URL payload 2.0 event."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from streamlab.emulator.payload import (
    HttpRequest,
    IamCaller,
    RequestIds,
    build_event,
    fold_headers,
    format_request_time,
    is_text_body,
    query_parameters,
    request_cookies,
    url_id,
)

IDS = RequestIds(
    request_id="req-1", trace_id="Root=1-00000000-000000000000000000000000", epoch_ms=1795298926123
)


def request(**overrides: object) -> HttpRequest:
    fields: dict[str, object] = {
        "method": "post",
        "raw_path": "/my/path",
        "raw_query": "a=1&a=2&b=x%20y&empty=",
        "headers": (
            ("Host", "127.0.0.1:3000"),
            ("User-Agent", "agent/1"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
            ("Cookie", "c1=v1; c2=v2"),
            ("Content-Type", "application/json"),
        ),
        "body": b'{"k": "v"}',
        "source_ip": "10.0.0.7",
    }
    fields.update(overrides)
    return HttpRequest(**fields)  # type: ignore[arg-type]


def test_top_level_fields() -> None:
    event = build_event(request(), function_name="Fn", ids=IDS, local_port=3000)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/my/path"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y&empty="
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y", "empty": ""}
    assert event["body"] == '{"k": "v"}'
    assert event["isBase64Encoded"] is False
    headers = event["headers"]
    assert headers["x-multi"] == "one,two"
    assert "cookie" not in headers
    assert headers["host"] == "127.0.0.1:3000"
    assert headers["x-forwarded-for"] == "10.0.0.7"
    assert headers["x-forwarded-port"] == "3000"
    assert headers["x-amzn-trace-id"] == IDS.trace_id
    assert all(name == name.lower() for name in headers)


def test_request_context() -> None:
    context = build_event(request(), function_name="Fn", ids=IDS)["requestContext"]
    assert context["accountId"] == "anonymous"
    assert context["apiId"] == url_id("Fn") and len(context["apiId"]) == 32
    assert context["authorizer"] is None
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["http"] == {
        "method": "POST",
        "path": "/my/path",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.0.0.7",
        "userAgent": "agent/1",
    }
    assert context["requestId"] == "req-1"
    assert context["routeKey"] == "$default"
    assert context["stage"] == "$default"
    assert context["timeEpoch"] == 1795298926123
    assert context["time"] == format_request_time(1795298926123)


def test_iam_caller_fills_authorizer_and_account() -> None:
    caller = IamCaller(access_key="AKIDEXAMPLE")
    context = build_event(request(), function_name="Fn", ids=IDS, caller=caller)["requestContext"]
    assert context["accountId"] == caller.account_id
    iam = context["authorizer"]["iam"]
    assert iam["accessKey"] == "AKIDEXAMPLE"
    assert iam["userArn"].startswith("arn:aws:iam::")
    assert iam["cognitoIdentity"] is None


def test_no_body_no_cookies_no_query() -> None:
    event = build_event(
        request(method="GET", raw_query="", body=b"", headers=(("Host", "h"),)),
        function_name="Fn",
        ids=IDS,
    )
    assert "body" not in event
    assert "cookies" not in event
    assert "queryStringParameters" not in event
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["userAgent"] == ""


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        ("text/plain; charset=utf-8", "héllo".encode(), True),
        ("application/json", b"{}", True),
        ("application/problem+json", b"{}", True),
        ("application/xml", b"<a/>", True),
        ("image/svg+xml", b"<svg/>", True),
        ("application/javascript", b"x=1", True),
        ("text/plain", b"\xff\xfe", False),  # not UTF-8
        ("application/octet-stream", b"abc", False),
        ("application/x-www-form-urlencoded", b"a=1", False),
        ("image/png", b"\x89PNG", False),
        (None, b"abc", False),
    ],
)
def test_text_or_binary(content_type: str | None, body: bytes, text: bool) -> None:
    assert is_text_body(content_type, body) is text
    headers = (("Host", "h"),) + ((("Content-Type", content_type),) if content_type else ())
    event = build_event(request(headers=headers, body=body), function_name="Fn", ids=IDS)
    assert event["isBase64Encoded"] is (not text)
    if text:
        assert event["body"] == body.decode()
    else:
        assert base64.b64decode(event["body"]) == body


def test_time_format_is_english_and_utc() -> None:
    assert format_request_time(0) == "01/Jan/1970:00:00:00 +0000"
    moment = datetime(2026, 11, 21, 21, 48, 46, tzinfo=UTC)
    assert format_request_time(int(moment.timestamp() * 1000) + 999) == "21/Nov/2026:21:48:46 +0000"


def test_helpers() -> None:
    assert fold_headers([("A", "1"), ("a", "2"), ("Cookie", "x=1")]) == {"a": "1,2"}
    assert request_cookies([("cookie", "a=1;b=2"), ("Cookie", " c=3 ")]) == ["a=1", "b=2", "c=3"]
    assert query_parameters("x=%2F&x=2&flag") == {"x": "/,2", "flag": ""}
    assert url_id("A") != url_id("B")

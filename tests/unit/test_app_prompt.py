"""Validation of Function URL events, before any byte is streamed."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from token_stream.prompt import Limits, PromptRequest, RequestError, parse_request

LIMITS = Limits(max_prompt_chars=20, default_max_tokens=8, max_tokens=100)


def event(
    method: str = "GET",
    query: dict[str, str] | None = None,
    body: Any = None,
    *,
    base64_body: bool = False,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "version": "2.0",
        "rawPath": "/",
        "requestContext": {"http": {"method": method, "path": "/"}},
        "isBase64Encoded": base64_body,
    }
    if query is not None:  # both, as a Function URL sends them
        result["queryStringParameters"] = query
        result["rawQueryString"] = urlencode(query)
    if body is not None:
        raw = body if isinstance(body, str) else json.dumps(body)
        result["body"] = base64.b64encode(raw.encode()).decode() if base64_body else raw
    return result


def test_get_with_query() -> None:
    request = parse_request(event(query={"prompt": "hi", "max_tokens": "5"}), LIMITS)
    assert request == PromptRequest(prompt="hi", max_tokens=5)


def test_post_json_body_and_default_max_tokens() -> None:
    request = parse_request(event("POST", body={"prompt": "hello"}), LIMITS)
    assert request == PromptRequest(prompt="hello", max_tokens=8)


def test_post_base64_body() -> None:
    body = {"prompt": "ünï", "max_tokens": 3, "token_delay_ms": 0, "fail_after": 2}
    request = parse_request(event("POST", body=body, base64_body=True), LIMITS)
    assert request == PromptRequest("ünï", 3, token_delay_ms=0, fail_after=2)


def test_token_bytes_for_a_large_export() -> None:
    request = parse_request(event(query={"prompt": "x", "token_bytes": "10240"}), LIMITS)
    assert request.token_bytes == 10240
    with pytest.raises(RequestError) as raised:
        parse_request(event(query={"prompt": "x", "token_bytes": "65537"}), LIMITS)
    assert raised.value.code == "invalid_token_bytes"


def test_post_body_wins_over_query() -> None:
    request = parse_request(event("post", {"prompt": "q"}, {"prompt": "b"}), LIMITS)
    assert request.prompt == "b"


@pytest.mark.parametrize(
    ("bad_event", "status", "code"),
    [
        (event("DELETE", {"prompt": "x"}), 405, "method_not_allowed"),
        ({"prompt": "not a function URL event"}, 400, "invalid_event"),
        (event("POST", body="{not json"), 400, "invalid_json"),
        (event("POST", body="[1, 2]"), 400, "invalid_json"),
        ({**event("POST"), "body": "!!!", "isBase64Encoded": True}, 400, "invalid_body"),
        (
            {
                **event("POST"),
                "body": base64.b64encode(b"\xc3\x28").decode(),
                "isBase64Encoded": True,
            },
            400,
            "invalid_body",
        ),
        (event(), 400, "missing_prompt"),
        (event(query={"prompt": "   "}), 400, "missing_prompt"),
        (event("POST", body={"prompt": 42}), 400, "missing_prompt"),
        (event(query={"prompt": "x" * 21}), 413, "prompt_too_long"),
        (event(query={"prompt": "x", "max_tokens": "0"}), 400, "invalid_max_tokens"),
        (event(query={"prompt": "x", "max_tokens": "101"}), 400, "invalid_max_tokens"),
        (event(query={"prompt": "x", "max_tokens": "ten"}), 400, "invalid_max_tokens"),
        (event(query={"prompt": "x", "max_tokens": "²"}), 400, "invalid_max_tokens"),
        (event("POST", body={"prompt": "x", "max_tokens": 2.5}), 400, "invalid_max_tokens"),
        (event("POST", body={"prompt": "x", "max_tokens": True}), 400, "invalid_max_tokens"),
        (event(query={"prompt": "x", "token_delay_ms": "-1"}), 400, "invalid_token_delay_ms"),
    ],
)
def test_bad_requests_get_a_4xx_json_error(
    bad_event: dict[str, Any], status: int, code: str
) -> None:
    with pytest.raises(RequestError) as caught:
        parse_request(bad_event, LIMITS)
    error = caught.value
    assert error.metadata["statusCode"] == status
    assert error.metadata["headers"]["Content-Type"] == "application/json"
    document = json.loads(error.body)
    assert document["error"]["code"] == code
    assert document["error"]["message"]


def test_wrong_method_names_the_allowed_ones() -> None:
    with pytest.raises(RequestError) as caught:
        parse_request(event("PUT", {"prompt": "x"}), LIMITS)
    assert caught.value.metadata["headers"]["Allow"] == "GET, POST"


def test_limits_from_env() -> None:
    limits = Limits.from_env(
        {"PROMPT_MAX_CHARS": "7", "DEFAULT_MAX_TOKENS": "3", "MAX_TOKENS_LIMIT": "x"}
    )
    assert limits == Limits(
        max_prompt_chars=7, default_max_tokens=3, max_tokens=Limits().max_tokens
    )

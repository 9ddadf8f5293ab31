"""Function URL CORS rules."""

from __future__ import annotations

from streamlab.emulator.cors import apply, is_preflight, preflight_headers, response_headers
from streamlab.emulator.invocation import CorsConfig

SITE = CorsConfig(
    allow_origins=("https://app.example.com",),
    allow_methods=("GET", "POST"),
    allow_headers=("content-type", "x-custom"),
    expose_headers=("x-amzn-requestid",),
    allow_credentials=True,
    max_age=600,
)
PREFLIGHT = {
    "origin": "https://app.example.com",
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type",
}


def test_preflight_detection() -> None:
    assert is_preflight("OPTIONS", PREFLIGHT)
    assert not is_preflight("OPTIONS", {"origin": "https://x"})
    assert not is_preflight("POST", PREFLIGHT)


def test_preflight_for_allowed_origin() -> None:
    assert preflight_headers(SITE, PREFLIGHT) == {
        "Access-Control-Allow-Origin": "https://app.example.com",
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "content-type, x-custom",
        "Access-Control-Expose-Headers": "x-amzn-requestid",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def test_disallowed_origin_gets_no_cors_headers() -> None:
    assert preflight_headers(SITE, {**PREFLIGHT, "origin": "https://evil.example"}) == {}
    assert response_headers(SITE, {"origin": "https://evil.example"}) == {}
    assert response_headers(SITE, {}) == {}


def test_wildcards() -> None:
    anyone = CorsConfig(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))
    headers = preflight_headers(anyone, {**PREFLIGHT, "access-control-request-method": "delete"})
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Allow-Methods"] == "DELETE"
    assert headers["Access-Control-Allow-Headers"] == "content-type"
    assert "Vary" not in headers
    # "*" is not valid on credentialed responses: the origin is echoed instead.
    credentialed = CorsConfig(allow_origins=("*",), allow_credentials=True)
    assert response_headers(credentialed, PREFLIGHT)["Access-Control-Allow-Origin"] == (
        "https://app.example.com"
    )


def test_url_headers_replace_the_functions_own() -> None:
    function_headers = [
        ("Content-Type", "text/plain"),
        ("Access-Control-Allow-Origin", "https://wrong.example"),
    ]
    merged = apply(SITE, {"origin": "https://app.example.com"}, function_headers)
    assert ("Content-Type", "text/plain") in merged
    assert [v for n, v in merged if n == "Access-Control-Allow-Origin"] == [
        "https://app.example.com"
    ]
    assert ("Access-Control-Expose-Headers", "x-amzn-requestid") in merged
    # Without a Cors block, the function's headers pass untouched.
    assert apply(None, {"origin": "https://app.example.com"}, function_headers) == function_headers

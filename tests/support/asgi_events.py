"""Lambda HTTP events for the adapters' tests: Function URL (2.0) and REST proxy (1.0), shaped
as AWS documents them (urls-invocation.html, set-up-lambda-proxy-integrations.html). Both carry
the path percent-encoded, as the client sent it; REST's pathParameters are decoded."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, quote, unquote


def v2(
    method: str,
    path: str,
    query: str = "",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    all_headers = {
        "host": "abc123.lambda-url.us-east-1.on.aws",
        "x-forwarded-proto": "https",
        "x-forwarded-port": "443",
        "user-agent": "test",
        **(headers or {}),
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "domainName": "abc123.lambda-url.us-east-1.on.aws",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "test",
            },
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if body is not None:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    return event


def v1(
    method: str,
    path: str,
    query: str = "",
    body: bytes | None = None,
    headers: dict[str, list[str]] | None = None,
    stage: str = "Prod",
) -> dict[str, Any]:
    multi_headers = {
        "Host": ["abc123.execute-api.us-east-1.amazonaws.com"],
        "X-Forwarded-Proto": ["https"],
        "X-Forwarded-Port": ["443"],
        **(headers or {}),
    }
    multi_query = parse_qs(query, keep_blank_values=True) or None
    raw = quote(path, safe="/%")  # percent-encoded, as the client sent it (and API Gateway keeps)
    decoded = unquote(raw)
    event: dict[str, Any] = {
        "resource": "/{proxy+}",
        "path": raw,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()}
        if multi_query
        else None,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": {"proxy": decoded.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{stage}{raw}",
            "stage": stage,
            "protocol": "HTTP/1.1",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "identity": {"sourceIp": "198.51.100.9", "userAgent": "test"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    return event

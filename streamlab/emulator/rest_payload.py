"""HTTP request -> REST API proxy event (payload format 1.0), as API Gateway builds it.

Pure functions over the same request record the Function URL front uses (``payload.HttpRequest``),
so the rules are testable without a server. Source: the API Gateway developer guide, "Input
format of a Lambda function for proxy integration" (set-up-lambda-proxy-integrations.html):
header names keep their case; a repeated header or query parameter keeps its last value in
``headers`` / ``queryStringParameters`` and every value in the ``multiValue*`` maps; absent
maps are ``null``; the body is a string, base64 only when the request's Content-Type matches
the API's binary media types.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from streamlab.emulator.payload import HttpRequest, IamCaller, RequestIds, format_request_time
from streamlab.emulator.rest_spec import RestApi, RestRoute


@dataclass(frozen=True)
class RestTarget:
    """Where a request landed: API stage, route, path parameters, path after the stage."""

    api: RestApi
    route: RestRoute
    path_parameters: Mapping[str, str]
    path: str  # e.g. "/items/42" (no "/<ApiId>/<Stage>" prefix)


def api_id(logical_id: str) -> str:
    """A stable 10-character id in the shape of a REST API id."""
    return hashlib.sha256(logical_id.encode()).hexdigest()[:10]


def multi_headers(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Every value of every header, names as sent (the first spelling of a name wins)."""
    result: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in headers:
        key = spelling.setdefault(name.lower(), name)
        result.setdefault(key, []).append(value)
    return result


def multi_query(raw_query: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        result.setdefault(key, []).append(value)
    return result


def _last(values: Mapping[str, list[str]]) -> dict[str, str]:
    return {key: items[-1] for key, items in values.items()}


def identity(
    request: HttpRequest, user_agent: str | None, caller: IamCaller | None
) -> dict[str, object]:
    return {
        "cognitoIdentityPoolId": None,
        "accountId": caller.account_id if caller else None,
        "cognitoIdentityId": None,
        "caller": caller.caller_id if caller else None,
        "sourceIp": request.source_ip,
        "principalOrgId": None,
        "accessKey": caller.access_key if caller else None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": caller.user_arn if caller else None,
        "userAgent": user_agent,
        "user": caller.user_id if caller else None,
    }


def build_rest_event(
    request: HttpRequest,
    target: RestTarget,
    *,
    ids: RequestIds,
    caller: IamCaller | None = None,
    local_port: int | None = None,
) -> dict[str, object]:
    """The event a function behind a REST API proxy integration receives for ``request``."""
    headers = list(request.headers)
    lower = {name.lower() for name, _ in headers}
    host = next((value for name, value in headers if name.lower() == "host"), "localhost")
    _, has_port, port = host.rpartition(":")
    if "x-forwarded-for" not in lower:
        headers.append(("X-Forwarded-For", request.source_ip))
    if "x-forwarded-port" not in lower:
        headers.append(
            ("X-Forwarded-Port", str(local_port) if local_port else (port if has_port else "80"))
        )
    if "x-forwarded-proto" not in lower:
        headers.append(("X-Forwarded-Proto", "http"))
    headers = [(n, v) for n, v in headers if n.lower() != "x-amzn-trace-id"]
    headers.append(("X-Amzn-Trace-Id", ids.trace_id))
    multi_h = multi_headers(headers)
    single_h = _last(multi_h)
    user_agent = next((v for k, v in single_h.items() if k.lower() == "user-agent"), None)
    content_type = next((v for k, v in single_h.items() if k.lower() == "content-type"), None)
    multi_q = multi_query(request.raw_query)
    api = target.api
    route = target.route
    method = request.method.upper()
    event: dict[str, object] = {
        "resource": route.path,
        "path": target.path,
        "httpMethod": method,
        "headers": single_h or None,
        "multiValueHeaders": multi_h or None,
        "queryStringParameters": _last(multi_q) or None,
        "multiValueQueryStringParameters": multi_q or None,
        "pathParameters": dict(target.path_parameters) or None,
        "stageVariables": dict(api.stage_variables) or None,
        "requestContext": {
            "resourceId": hashlib.sha256(f"{api.logical_id}{route.path}".encode()).hexdigest()[:6],
            "resourcePath": route.path,
            "httpMethod": method,
            "extendedRequestId": base64.b32encode(ids.request_id.encode()[:10]).decode()[:16],
            "requestTime": format_request_time(ids.epoch_ms),
            "path": f"/{api.stage}{target.path}",
            "accountId": "123456789012",
            "protocol": request.protocol,
            "stage": api.stage,
            "domainPrefix": host.split(":", 1)[0].split(".", 1)[0],
            "requestTimeEpoch": ids.epoch_ms,
            "requestId": ids.request_id,
            "identity": identity(request, user_agent, caller),
            "domainName": host,
            "deploymentId": api_id(api.logical_id + api.stage)[:6],
            "apiId": api_id(api.logical_id),
        },
    }
    if not request.body:
        event["body"] = None
        event["isBase64Encoded"] = False
    elif api.is_binary(content_type):
        event["body"] = base64.b64encode(request.body).decode("ascii")
        event["isBase64Encoded"] = True
    else:
        # API Gateway passes a non-binary body as text, whatever its bytes.
        event["body"] = request.body.decode("utf-8", "replace")
        event["isBase64Encoded"] = False
    return event

"""HTTP request -> Function URL event (payload format 2.0), as AWS builds it.

Pure functions over a small request record, so the rules (header folding, cookies,
query parameters, when a body is base64) are testable without a server. Sources: the
"Request payload format" table of docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Media types whose bodies Lambda passes as text; everything else (including a missing
# Content-Type and form posts) arrives base64-encoded with isBase64Encoded true.
_TEXT_SUBTYPES = frozenset({"json", "xml", "javascript", "ecmascript", "x-javascript", "graphql"})


@dataclass(frozen=True)
class HttpRequest:
    """What a Function URL sees of one request, after the local ``/<LogicalId>`` prefix."""

    method: str
    raw_path: str  # "/" when nothing follows the prefix; percent-encoding kept
    raw_query: str  # without the "?"
    headers: tuple[tuple[str, str], ...]  # in arrival order, repeats kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class IamCaller:
    """The identity a valid SigV4 signature proves (``requestContext.authorizer.iam``)."""

    access_key: str
    account_id: str = "123456789012"
    caller_id: str = "AIDACKCEVSQ6C2EXAMPLE"
    user_arn: str = "arn:aws:iam::123456789012:user/local"
    user_id: str = "AIDACKCEVSQ6C2EXAMPLE"

    def as_authorizer(self) -> dict[str, object]:
        return {
            "iam": {
                "accessKey": self.access_key,
                "accountId": self.account_id,
                "callerId": self.caller_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": self.user_arn,
                "userId": self.user_id,
            }
        }


@dataclass(frozen=True)
class RequestIds:
    """Identifiers AWS stamps on a request; the same values go into response headers."""

    request_id: str
    trace_id: str
    epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))


def new_trace_id(epoch_s: float | None = None) -> str:
    """An X-Ray trace header value: ``Root=1-<8 hex epoch>-<24 hex>;Sampled=0``."""
    stamp = int(time.time() if epoch_s is None else epoch_s)
    return f"Root=1-{stamp:08x}-{secrets.token_hex(12)};Sampled=0"


def url_id(function_name: str) -> str:
    """A stable 32-character id in the shape of a real Function URL id."""
    digest = hashlib.sha256(function_name.encode()).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:32]


def format_request_time(epoch_ms: int) -> str:
    """``21/Nov/2026:21:48:46 +0000`` (English month names whatever the locale)."""
    t = time.gmtime(epoch_ms / 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{time.strftime('%H:%M:%S', t)} +0000"
    )


def is_text_body(content_type: str | None, body: bytes) -> bool:
    """Whether Lambda would pass the body as a string rather than base64."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = media_type.partition("/")
    textual = (
        main == "text"
        or (main == "application" and sub in _TEXT_SUBTYPES)
        or sub.endswith(("+json", "+xml"))
    )
    if not textual:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def fold_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names, repeats joined with commas, ``cookie`` left out (it has its own field)."""
    folded: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            continue
        folded[key] = f"{folded[key]},{value}" if key in folded else value
    return folded


def request_cookies(headers: Iterable[tuple[str, str]]) -> list[str]:
    cookies: list[str] = []
    for name, value in headers:
        if name.lower() == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
    return cookies


def query_parameters(raw_query: str) -> dict[str, str]:
    """Decoded parameters; a repeated name keeps every value, comma-joined."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def build_event(
    request: HttpRequest,
    *,
    function_name: str,
    ids: RequestIds,
    caller: IamCaller | None = None,
    local_port: int | None = None,
) -> dict[str, object]:
    """The event a function behind a Function URL receives for ``request``.

    ``domainName`` is the Host the client used, so ``"http://" + domainName + rawPath``
    addresses the same local URL, as it does in AWS.
    """
    headers = fold_headers(request.headers)
    host = headers.get("host", "localhost")
    _, has_port, port = host.rpartition(":")
    forwarded_port = str(local_port) if local_port else (port if has_port else "80")
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-port", forwarded_port)
    headers["x-amzn-trace-id"] = ids.trace_id
    api_id = url_id(function_name)
    event: dict[str, object] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    cookies = request_cookies(request.headers)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    params = query_parameters(request.raw_query)
    if params:
        event["queryStringParameters"] = params
    event["requestContext"] = {
        "accountId": caller.account_id if caller else "anonymous",
        "apiId": api_id,
        "authentication": None,
        "authorizer": caller.as_authorizer() if caller else None,
        "domainName": host,
        "domainPrefix": host.split(":", 1)[0].split(".", 1)[0],
        "http": {
            "method": request.method.upper(),
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": ids.request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": format_request_time(ids.epoch_ms),
        "timeEpoch": ids.epoch_ms,
    }
    if request.body:
        if is_text_body(headers.get("content-type"), request.body):
            event["body"] = request.body.decode("utf-8")
            event["isBase64Encoded"] = False
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event

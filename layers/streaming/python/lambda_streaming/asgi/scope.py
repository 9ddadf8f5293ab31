"""Lambda HTTP events -> ASGI ``http`` scopes (and the request body).

Function URLs send payload 2.0 (``version: "2.0"``, ``requestContext.http``); API Gateway REST
proxy integrations send payload 1.0 (``httpMethod``, ``resource``). Both become the scope an
ASGI server such as uvicorn would build for the same request, so routing, ``request.url``,
cookies and client addresses work as they do behind a server.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlencode

from lambda_streaming.http.request import FUNCTION_URL, event_body, event_version

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}


class BadEvent(ValueError):
    """The event is not an HTTP event this adapter understands."""


class Request:
    """One HTTP request: the ASGI scope, the body, and which payload version carried it."""

    __slots__ = ("body", "rest", "scope")

    def __init__(self, scope: dict[str, Any], body: bytes, rest: bool) -> None:
        self.scope = scope
        self.body = body
        self.rest = rest  # payload 1.0: answer with multiValueHeaders rather than cookies


def request_from_event(event: Any) -> Request:
    """Decide the payload version from the event's shape and build the request from it."""
    if not isinstance(event, dict):
        kind = type(event).__name__
        raise BadEvent(f"an ASGI app needs an HTTP event (a JSON object), got {kind}")
    try:
        version = event_version(event)
    except ValueError as exc:
        raise BadEvent(str(exc)) from None
    context = event.get("requestContext")
    context = context if isinstance(context, dict) else {}
    return _from_v2(event, context) if version == FUNCTION_URL else _from_v1(event, context)


def _from_v2(event: dict[str, Any], context: dict[str, Any]) -> Request:
    http = context["http"]
    raw_path = event.get("rawPath") or http.get("path") or "/"
    headers = _header_pairs(event.get("headers"))
    cookies = event.get("cookies")
    if cookies:
        headers = [(k, v) for k, v in headers if k != b"cookie"]
        headers.append((b"cookie", _bytes("; ".join(cookies))))
    scope = _scope(
        method=http.get("method") or "GET",
        path=unquote(raw_path),
        raw_path=raw_path.encode("utf-8"),
        root_path="",
        query_string=(event.get("rawQueryString") or "").encode("utf-8"),
        headers=headers,
        protocol=http.get("protocol"),
        source_ip=http.get("sourceIp"),
        domain=context.get("domainName"),
    )
    return Request(scope, _body(event), rest=False)


def _from_v1(event: dict[str, Any], context: dict[str, Any]) -> Request:
    path = event.get("path") or "/"
    root_path = _stage_prefix(path, context)
    full_path = root_path + path
    multi = event.get("multiValueHeaders")
    if isinstance(multi, dict) and multi:
        headers = [
            (_bytes(name.lower()), _bytes(value))
            for name, values in multi.items()
            for value in (values or ())
        ]
    else:
        headers = _header_pairs(event.get("headers"))
    identity = context.get("identity")
    scope = _scope(
        method=event.get("httpMethod") or "GET",
        path=full_path,
        raw_path=quote(full_path).encode("ascii"),
        root_path=root_path,
        query_string=_v1_query(event).encode("ascii"),
        headers=headers,
        protocol=context.get("protocol"),
        source_ip=identity.get("sourceIp") if isinstance(identity, dict) else None,
        domain=context.get("domainName"),
    )
    return Request(scope, _body(event), rest=True)


def _stage_prefix(path: str, context: dict[str, Any]) -> str:
    """What precedes ``path`` in the URL the client used: the stage, or a custom domain's base
    path mapping. API Gateway strips it from ``path``; ASGI wants it as ``root_path`` (and
    ``path`` to include it, as uvicorn's --root-path does), so routes still match and
    ``request.url`` is the URL the client called."""
    client_path = context.get("path")
    if isinstance(client_path, str) and client_path:
        client_path = unquote(client_path)
        if client_path.endswith(path) and client_path != path:
            return client_path[: len(client_path) - len(path)].rstrip("/")
        if client_path == path:
            return ""
    stage = context.get("stage")
    if isinstance(stage, str) and stage and stage != "$default":
        return "/" + stage
    return ""


def _v1_query(event: dict[str, Any]) -> str:
    multi = event.get("multiValueQueryStringParameters")
    if isinstance(multi, dict) and multi:
        return urlencode([(k, v) for k, values in multi.items() for v in (values or ())])
    single = event.get("queryStringParameters")
    if isinstance(single, dict) and single:
        return urlencode(list(single.items()))
    return ""


def _scope(
    *,
    method: str,
    path: str,
    raw_path: bytes,
    root_path: str,
    query_string: bytes,
    headers: list[tuple[bytes, bytes]],
    protocol: Any,
    source_ip: Any,
    domain: Any,
) -> dict[str, Any]:
    found = dict(headers)  # last value wins; enough for the few headers read here
    scheme = found.get(b"x-forwarded-proto", b"https").decode("latin-1").split(",")[0].strip()
    host = found.get(b"host", b"").decode("latin-1") or (domain if isinstance(domain, str) else "")
    return {
        "type": "http",
        "asgi": dict(ASGI_VERSION),
        "http_version": _http_version(protocol),
        "method": method.upper(),
        "scheme": scheme or "https",
        "path": path,
        "raw_path": raw_path,
        "root_path": root_path,
        "query_string": query_string,
        "headers": headers,
        "client": (source_ip, 0) if isinstance(source_ip, str) and source_ip else None,
        "server": _server(host, found.get(b"x-forwarded-port"), scheme),
    }


# Every spelling of a protocol an event may carry -> the scope's http_version.
_HTTP_VERSIONS = {"1.0": "1.0", "1.1": "1.1", "2": "2", "2.0": "2", "3": "3", "3.0": "3"}


def _http_version(protocol: Any) -> str:
    if protocol == "HTTP/1.1":  # nearly every event
        return "1.1"
    if not isinstance(protocol, str):
        return "1.1"
    return _HTTP_VERSIONS.get(protocol.upper().removeprefix("HTTP/"), "1.1")


def _server(host: str, forwarded_port: bytes | None, scheme: str) -> tuple[str, int] | None:
    if not host:
        return None
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit():  # "example.com:3000", "[::1]:3000"
        return (name.strip("[]"), int(port))
    host = host.strip("[]")
    if forwarded_port and forwarded_port.strip().isdigit():
        return (host, int(forwarded_port))
    return (host, 443 if scheme == "https" else 80)


def _header_pairs(headers: Any) -> list[tuple[bytes, bytes]]:
    if not isinstance(headers, dict):
        return []
    try:  # str names and values in latin-1, as nearly every event has them: no call per header
        return [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
        ]
    except (AttributeError, UnicodeEncodeError):
        return [(_bytes(str(name).lower()), _bytes(str(value))) for name, value in headers.items()]


def _bytes(text: str) -> bytes:
    """Header text as the bytes a server would have read (latin-1; UTF-8 beyond it)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _body(event: dict[str, Any]) -> bytes:
    try:
        return event_body(event)
    except ValueError as exc:
        raise BadEvent(str(exc)) from None

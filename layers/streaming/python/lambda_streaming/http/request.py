"""One HTTP request from either front: a Function URL event (2.0) or a REST API event (1.0).

The version is read from the event itself, never configured: a 2.0 event has
``version: "2.0"`` and ``requestContext.http``; a REST proxy event has ``httpMethod``.
``Request.from_event`` gives the request in one normalized shape (method, path, query pairs,
header pairs, body bytes), so code above it (prompt parsing, an ASGI adapter) need not know
which front delivered it. What each front loses is kept lost: a 2.0 event has already
comma-joined repeated headers and query values; a 1.0 event keeps every value in its
``multiValue*`` maps, which are preferred when present.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

FUNCTION_URL = "2.0"  # also API Gateway HTTP APIs' payload format 2.0
REST_API = "1.0"


def event_version(event: Mapping[str, Any]) -> str:
    """``"2.0"`` or ``"1.0"``; ValueError if ``event`` is not an HTTP event of either kind."""
    if hasattr(event, "get"):
        context = event.get("requestContext")
        http = context.get("http") if hasattr(context, "get") else None
        if event.get("version") == "2.0" or hasattr(http, "get"):
            if hasattr(http, "get") and isinstance(http.get("method"), str):
                return FUNCTION_URL
        elif isinstance(event.get("httpMethod"), str):
            return REST_API
    raise ValueError(
        "not an HTTP event: expected a Function URL event (payload 2.0, requestContext.http."
        "method) or an API Gateway REST proxy event (payload 1.0, httpMethod)"
    )


def is_rest_event(event: object) -> bool:
    """Whether ``event`` came through an API Gateway REST API (payload format 1.0)."""
    try:
        return event_version(event) == REST_API  # type: ignore[arg-type]
    except ValueError:
        return False


def event_method(event: Mapping[str, Any]) -> str:
    """The request method, upper case, from either event version (ValueError if neither)."""
    if event_version(event) == REST_API:
        return event["httpMethod"].upper()
    return event["requestContext"]["http"]["method"].upper()


class Request:
    """An HTTP request, whichever front it came through.

    ``headers``: ``(lower-case name, value)`` pairs in event order; a 2.0 event's ``cookies``
    become one ``cookie`` header, as the client sent them. ``query``: decoded
    ``(name, value)`` pairs. ``path``: as the event gives it (REST: without the stage).
    """

    __slots__ = ("body", "headers", "method", "path", "query", "raw_query", "source_ip", "version")

    def __init__(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        raw_query: str = "",
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        source_ip: str | None = None,
        version: str = FUNCTION_URL,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query or []
        self.raw_query = raw_query
        self.headers = headers or []
        self.body = body
        self.source_ip = source_ip
        self.version = version

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Request:
        """The request an event describes; ValueError if it is not an HTTP event or its
        base64 body is not base64."""
        version = event_version(event)
        body = event_body(event)
        context = event.get("requestContext") or {}
        if version == REST_API:
            query = _pairs(event.get("multiValueQueryStringParameters"))
            if not query:
                query = _pairs(event.get("queryStringParameters"))
            headers = _pairs(event.get("multiValueHeaders")) or _pairs(event.get("headers"))
            identity = context.get("identity") or {}
            from urllib.parse import urlencode

            return cls(
                event["httpMethod"].upper(),
                event.get("path") or "/",
                query=query,
                raw_query=urlencode(query),
                headers=[(name.lower(), value) for name, value in headers],
                body=body,
                source_ip=identity.get("sourceIp"),
                version=version,
            )
        http = context["http"]
        raw_query = event.get("rawQueryString") or ""
        from urllib.parse import parse_qsl

        headers = [(name.lower(), value) for name, value in _pairs(event.get("headers"))]
        cookies = event.get("cookies")
        if cookies:
            headers.append(("cookie", "; ".join(cookies)))
        return cls(
            http["method"].upper(),
            event.get("rawPath") or http.get("path") or "/",
            query=parse_qsl(raw_query, keep_blank_values=True),
            raw_query=raw_query,
            headers=headers,
            body=body,
            source_ip=http.get("sourceIp"),
            version=version,
        )

    def header(self, name: str, default: str | None = None) -> str | None:
        """The last value of header ``name`` (any case), as API Gateway's ``headers`` keeps."""
        wanted = name.lower()
        found = default
        for key, value in self.headers:
            if key == wanted:
                found = value
        return found

    def query_param(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter ``name``."""
        found = default
        for key, value in self.query:
            if key == name:
                found = value
        return found

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path!r}, version={self.version})"


def _pairs(mapping: object) -> list[tuple[str, str]]:
    """``{name: value}`` or ``{name: [values]}`` as ``(name, value)`` pairs; None gives []."""
    if not hasattr(mapping, "items"):
        return []
    pairs = []
    for name, value in mapping.items():  # type: ignore[attr-defined]
        if isinstance(value, list):
            pairs.extend((str(name), str(item)) for item in value)
        elif value is not None:
            pairs.append((str(name), str(value)))
    return pairs


def event_body(event: Mapping[str, Any]) -> bytes:
    """The request body as bytes, base64 decoded when ``isBase64Encoded`` (either version).

    ValueError if the body is not a string, or not base64 when it says it is.
    """
    body = event.get("body")
    if not body:
        return b""
    if not isinstance(body, str):
        raise ValueError(f"the event's body must be a string, got {type(body).__name__}")
    if event.get("isBase64Encoded"):
        import base64
        import binascii

        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"isBase64Encoded is true but the body is not base64: {exc}") from None
    return body.encode("utf-8", "surrogatepass")

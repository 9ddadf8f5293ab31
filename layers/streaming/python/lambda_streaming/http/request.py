"""One HTTP request, whichever front delivered it.

The fronts (``function_url``, ``rest_api``) read their own event shape into this one object
(``front.request_from_event(event)``); handlers and the adapters read the request from it and
never parse an event themselves. Paths stay as the client sent them (percent-encoded): both
fronts deliver them so, and only the raw form tells ``%2F`` inside a segment from a ``/``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any, Protocol

    class Front(Protocol):
        """What reads an event source's requests and writes its responses: one per source
        (``function_url.FUNCTION_URL``, ``rest_api.REST_API``; ``front.front_for`` picks)."""

        NAME: str  # "function_url" or "rest_api"
        VERSION: str  # the payload format: "2.0" or "1.0"

        def matches(self, event: Mapping[str, Any]) -> bool: ...
        def request(self, event: Mapping[str, Any]) -> Request: ...
        def response_head(
            self, status: object, headers: Iterable[Sequence[bytes | str]]
        ) -> dict[str, Any]: ...
        def buffered_result(self, metadata: Mapping[str, Any], body: bytes) -> dict[str, Any]: ...
        def cors_headers(self, event: Mapping[str, Any], allow_origins: str) -> dict[str, str]: ...


class Request:
    """An HTTP request as a server would have read it.

    ``raw_path``: the path after ``raw_root_path`` (a REST stage, or a custom domain's base
    path; empty on Function URLs), both percent-encoded as sent. ``query_string``: the raw
    query (a REST event has only decoded parameters: re-encoded from them). ``headers``:
    ``(lower-case name, value)`` in event order, a 2.0 event's ``cookies`` as one ``cookie``
    header. ``body``: bytes, base64 already decoded.
    """

    __slots__ = (
        "body",
        "event",
        "front",
        "headers",
        "host",
        "http_version",
        "method",
        "port",
        "query_string",
        "raw_path",
        "raw_root_path",
        "scheme",
        "source_ip",
    )

    def __init__(
        self,
        front: Front,
        event: Mapping[str, Any],
        method: str,
        raw_path: str,
        *,
        raw_root_path: str = "",
        query_string: str = "",
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        source_ip: str | None = None,
        scheme: str = "https",
        host: str = "",
        port: int | None = None,
        http_version: str = "1.1",
    ) -> None:
        self.front = front
        self.event = event
        self.method = method
        self.raw_path = raw_path
        self.raw_root_path = raw_root_path
        self.query_string = query_string
        self.headers = headers if headers is not None else []
        self.body = body
        self.source_ip = source_ip
        self.scheme = scheme
        self.host = host
        self.port = port
        self.http_version = http_version

    @property
    def path(self) -> str:
        """The path after the root path, percent-decoded as UTF-8 (as uvicorn decodes it)."""
        return _unquote(self.raw_path)

    @property
    def root_path(self) -> str:
        return _unquote(self.raw_root_path)

    @property
    def query(self) -> list[tuple[str, str]]:
        """The query's ``(name, value)`` pairs, decoded, blank values kept."""
        from urllib.parse import parse_qsl

        return parse_qsl(self.query_string, keep_blank_values=True)

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
        return f"Request({self.method} {self.raw_root_path}{self.raw_path!r}, {self.front.NAME})"


def _unquote(text: str) -> str:
    if "%" not in text:
        return text
    from urllib.parse import unquote

    return unquote(text)

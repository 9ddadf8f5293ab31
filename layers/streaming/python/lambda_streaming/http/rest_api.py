"""The REST API front: API Gateway proxy events (payload 1.0) in, proxy responses out.

A 1.0 event keeps every value of a repeated header or query parameter in its ``multiValue*``
maps, strips the stage (or a custom domain's base path) from ``path``, and has no raw query
string. A response names repeated headers in ``multiValueHeaders``; API Gateway answers 502
for a BUFFERED result with any field but the five of a proxy result, so cookies travel as
``Set-Cookie`` values there. A proxy integration adds no CORS header: the function must.
"""

from __future__ import annotations

from lambda_streaming.http.events import get_dict, lower_pairs, pairs, read_request, text_or_base64
from lambda_streaming.http.headers import check_status, collect

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

    from lambda_streaming.http.request import Request


class RestApi:
    NAME = "rest_api"
    VERSION = "1.0"

    def matches(self, event: Mapping[str, Any]) -> bool:
        """A 1.0 proxy event: ``httpMethod``."""
        return isinstance(event.get("httpMethod"), str)

    def request(self, event: Mapping[str, Any]) -> Request:
        context = get_dict(event, "requestContext")
        raw_path = event.get("path") or "/"
        multi = event.get("multiValueHeaders")
        headers = [
            (name.lower(), value)
            for name, value in (pairs(multi) if multi else lower_pairs(event.get("headers")))
        ]
        return read_request(
            self,
            event,
            event["httpMethod"],
            raw_path,
            headers,
            raw_root_path=_root_path(raw_path, context),
            query_string=_query_string(event),
            domain=context.get("domainName"),
            source_ip=get_dict(context, "identity").get("sourceIp"),
            protocol=context.get("protocol"),
        )

    def response_head(
        self, status: object, headers: Iterable[Sequence[bytes | str]]
    ) -> dict[str, Any]:
        """The prelude for an app's status and header list: one value per name in
        ``headers``, every value of a repeated name and every ``Set-Cookie`` in
        ``multiValueHeaders`` (lists in ``headers`` are a 502 at API Gateway)."""
        single, repeated, cookies = collect(headers)
        metadata: dict[str, Any] = {"statusCode": check_status(status)}
        multi: dict[str, list[str]] = {}
        if repeated:  # in the order the names first appeared, as in the headers
            multi = {name: repeated[name] for name in single if name in repeated}
            single = {name: value for name, value in single.items() if name not in repeated}
        metadata["headers"] = single
        if cookies:
            fold_cookies(multi, cookies)
        if multi:
            metadata["multiValueHeaders"] = multi
        return metadata

    def buffered_result(self, metadata: Mapping[str, Any], body: bytes) -> dict[str, Any]:
        """A proxy result of exactly the five fields API Gateway accepts; cookies become
        ``Set-Cookie`` values in ``multiValueHeaders``."""
        multi = {
            name: list(values) for name, values in (metadata.get("multiValueHeaders") or {}).items()
        }
        if metadata.get("cookies"):
            fold_cookies(multi, metadata["cookies"])
        result: dict[str, Any] = {
            "statusCode": metadata.get("statusCode", 200),
            "headers": metadata.get("headers") or {},
        }
        if multi:
            result["multiValueHeaders"] = multi
        result["body"], result["isBase64Encoded"] = text_or_base64(body)
        return result

    def cors_headers(self, event: Mapping[str, Any], allow_origins: str) -> dict[str, str]:
        """``Access-Control-Allow-Origin`` for an allowed Origin (``allow_origins``: comma
        separated, ``*`` for any), and ``Vary: Origin`` whenever the answer depends on the
        Origin, so a cache keeps one answer per origin."""
        origins = [o.strip().rstrip("/") for o in allow_origins.split(",") if o.strip()]
        if not origins:
            return {}
        origin = _origin(event)
        if "*" in origins:  # the same answer for every origin
            return {"Access-Control-Allow-Origin": "*"} if origin else {}
        if origin and origin.rstrip("/").lower() in {o.lower() for o in origins}:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return {"Vary": "Origin"}


REST_API = RestApi()


def fold_cookies(multi: dict[str, list[str]], cookies: Iterable[str]) -> None:
    """Add ``cookies`` to ``multi``'s ``Set-Cookie`` values, under the spelling it already has."""
    name = next((n for n in multi if n.lower() == "set-cookie"), "Set-Cookie")
    multi[name] = [*multi.get(name, []), *cookies]


def _root_path(raw_path: str, context: Mapping[str, Any]) -> str:
    """What precedes ``path`` in the URL the client called: the stage, or a custom domain's
    base path. API Gateway strips it from ``path`` and keeps the whole path in
    ``requestContext.path`` (both percent-encoded as sent)."""
    client_path = context.get("path")
    if isinstance(client_path, str) and client_path:
        if client_path == raw_path:
            return ""
        if client_path.endswith(raw_path):
            return client_path[: len(client_path) - len(raw_path)].rstrip("/")
    stage = context.get("stage")
    if isinstance(stage, str) and stage and stage != "$default":
        return "/" + stage
    return ""


def _query_string(event: Mapping[str, Any]) -> str:
    """The query re-encoded from the decoded parameters (all values of repeated names)."""
    query = pairs(event.get("multiValueQueryStringParameters")) or pairs(
        event.get("queryStringParameters")
    )
    if not query:
        return ""
    from urllib.parse import urlencode

    return urlencode(query)


def _origin(event: Mapping[str, Any]) -> str | None:
    """The request's last Origin value, read straight from the event: a whole ``Request``
    (body decoded, every pair copied) for one header costs more than the answer."""
    found = None
    for name, value in pairs(event.get("multiValueHeaders") or event.get("headers")):
        if name.lower() == "origin":
            found = value
    return found

"""The Function URL front: payload 2.0 events in, Function URL responses out.

The same event shape as API Gateway HTTP APIs' payload format 2.0. A 2.0 event has already
comma-joined repeated headers and query values, and carries cookies as a list of their own;
a response takes one value per header name and its ``Set-Cookie`` values as ``cookies``.
"""

from __future__ import annotations

from lambda_streaming.http.events import get_dict, lower_pairs, read_request, text_or_base64
from lambda_streaming.http.headers import check_status, collect

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

    from lambda_streaming.http.request import Request


class FunctionUrl:
    NAME = "function_url"
    VERSION = "2.0"

    def matches(self, event: Mapping[str, Any]) -> bool:
        """A 2.0 event: ``requestContext.http.method``."""
        return isinstance(get_dict(get_dict(event, "requestContext"), "http").get("method"), str)

    def request(self, event: Mapping[str, Any]) -> Request:
        context = get_dict(event, "requestContext")
        http = get_dict(context, "http")
        headers = lower_pairs(event.get("headers"))
        cookies = event.get("cookies")
        if isinstance(cookies, list) and cookies:
            headers = [pair for pair in headers if pair[0] != "cookie"]
            headers.append(("cookie", "; ".join(map(str, cookies))))
        return read_request(
            self,
            event,
            http["method"],
            event.get("rawPath") or http.get("path") or "/",
            headers,
            query_string=event.get("rawQueryString") or "",
            domain=context.get("domainName"),
            source_ip=http.get("sourceIp"),
            protocol=http.get("protocol"),
        )

    def response_head(
        self, status: object, headers: Iterable[Sequence[bytes | str]]
    ) -> dict[str, Any]:
        """The prelude for an app's status and header list: repeated names joined with ", "
        (as HTTP allows), ``Set-Cookie`` values as ``cookies``; checked by ``collect``."""
        single, repeated, cookies = collect(headers)
        for name, values in repeated.items():
            single[name] = ", ".join(values)
        metadata: dict[str, Any] = {"statusCode": check_status(status), "headers": single}
        if cookies:
            metadata["cookies"] = cookies
        return metadata

    def buffered_result(self, metadata: Mapping[str, Any], body: bytes) -> dict[str, Any]:
        """A BUFFERED Function URL result: the prelude's fields and the body (base64 if it is
        not UTF-8)."""
        result: dict[str, Any] = {
            "statusCode": metadata.get("statusCode", 200),
            "headers": metadata.get("headers") or {},
        }
        if metadata.get("multiValueHeaders"):
            result["multiValueHeaders"] = metadata["multiValueHeaders"]
        if metadata.get("cookies"):
            result["cookies"] = metadata["cookies"]
        result["body"], result["isBase64Encoded"] = text_or_base64(body)
        return result

    def cors_headers(self, event: Mapping[str, Any], allow_origins: str) -> dict[str, str]:
        """None: the URL's own ``Cors`` setting answers preflights and adds the headers."""
        return {}


FUNCTION_URL = FunctionUrl()

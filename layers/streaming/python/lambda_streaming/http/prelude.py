"""Function URL and API Gateway responses: status, headers and cookies ahead of the body.

``HttpResponseStream.from_`` (Node's ``awslambda.HttpResponseStream.from``) attaches the HTTP
integration prelude to a runtime stream: compact JSON metadata, then 8 NUL bytes, then the body.
The prelude is checked here, before anything is sent, so a mistake is an exception in the
handler rather than a 502 at the Function URL later.
"""

from __future__ import annotations

import json

from lambda_streaming.http.headers import breaks_framing, check_name, check_status, check_value

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from lambda_streaming.runtime.stream import ResponseStream

HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
DELIMITER = b"\x00" * 8  # between the JSON prelude and the body (Node DELIMITER_LEN = 8)
# One encoder for every prelude: json.dumps with non-default options builds a new
# JSONEncoder on each call, a few microseconds per response.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class HttpPrelude:
    """The prelude a ``ResponseStream`` sends before the first body byte."""

    content_type = HTTP_INTEGRATION_CONTENT_TYPE

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.metadata = metadata

    def body_content_type(self) -> str:
        for name, value in self.metadata.get("headers", {}).items():
            if name.lower() == "content-type":
                return str(value)
        return ""

    def set_body_content_type(self, content_type: str) -> None:
        content_type = check_value("Content-Type", content_type)
        headers = self.metadata.setdefault("headers", {})
        for name in [n for n in headers if n.lower() == "content-type"]:
            del headers[name]
        headers["Content-Type"] = content_type

    def encode(self) -> tuple[bytes, ...]:
        prelude = _ENCODE(self.metadata)
        # Prelude and delimiter as chunks of their own, as AWS's Node client sends them (a body
        # known whole at its end joins them into one: runtime.chunked.last_chunks).
        return (prelude.encode("utf-8"), DELIMITER)


class HttpResponseStream:
    """Status, headers and cookies for a Function URL response (Node's ``HttpResponseStream``)."""

    @staticmethod
    def from_(stream: ResponseStream, metadata: Mapping[str, Any] | None = None) -> ResponseStream:
        """Turn ``stream`` into an HTTP response stream and return it.

        ``metadata`` is ``{"statusCode": int, "headers": {str: str}, "multiValueHeaders":
        {str: [str]}, "cookies": [str]}``; all optional (status 200). It is sent as the JSON
        prelude before the first body byte. ``multiValueHeaders`` is read by API Gateway REST
        APIs (a header repeated once per value); ``cookies`` become ``Set-Cookie`` headers on
        both fronts.
        """
        stream.set_prelude(HttpPrelude(http_metadata(metadata or {})))
        return stream


def http_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a prelude now, not as a 502 at the Function URL later."""
    if not hasattr(metadata, "keys"):
        raise TypeError("HTTP response metadata must be a dict")
    result: dict[str, Any] = dict(metadata)
    check_status(result.setdefault("statusCode", 200))
    headers = result.get("headers")
    if headers is not None:
        if not hasattr(headers, "items"):
            raise TypeError("headers must be a dict of str to str")
        result["headers"] = {check_name(k): check_value(k, v) for k, v in headers.items()}
    multi = result.get("multiValueHeaders")
    if multi is not None:
        if not hasattr(multi, "items"):
            raise TypeError("multiValueHeaders must be a dict of str to a list of str")
        result["multiValueHeaders"] = {check_name(k): _values(k, v) for k, v in multi.items()}
    cookies = result.get("cookies")
    if cookies is not None:
        if isinstance(cookies, str | bytes) or not hasattr(cookies, "__iter__"):
            raise TypeError("cookies must be a list of str")
        cookies = list(cookies)  # any iterable, a generator too: read it once, then check it
        if not all(isinstance(c, str) for c in cookies):
            raise TypeError("cookies must be a list of str")
        for cookie in cookies:
            if breaks_framing(cookie):
                raise ValueError(f"cookie {cookie!r} contains CR, LF or NUL")
        result["cookies"] = cookies
    return result


def _values(name: object, values: object) -> list[str]:
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(f"multiValueHeaders[{name!r}] must be a list of str")
    return [check_value(name, value) for value in values]

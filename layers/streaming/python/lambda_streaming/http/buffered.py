"""BUFFERED mode: collect a stream and return one result object for the front that called.

A Function URL (event 2.0) gets its result shape, ``cookies`` included; an API Gateway REST
proxy integration (event 1.0) gets the proxy result it accepts, which has no ``cookies``
field (any unknown field is a 502 there): cookies become ``Set-Cookie`` values in
``multiValueHeaders``.

Lambda never tells a runtime how it was invoked, so ``STREAM_INVOKE_MODE=BUFFERED`` (matching a
Function URL's ``InvokeMode: BUFFERED``) and ``sam local invoke`` (``AWS_SAM_LOCAL=true``, whose
emulator reads the whole body and ignores trailers) get the same handlers as a readable result.
"""

from __future__ import annotations

import json

from lambda_streaming.http.stream import DELIMITER, HTTP_INTEGRATION_CONTENT_TYPE
from lambda_streaming.runtime.results import post_response
from lambda_streaming.runtime.stream import DEFAULT_CONTENT_TYPE

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from lambda_streaming.runtime.api import RuntimeApiClient


class BufferedSink:
    """Keeps the stream's bytes; ``finish`` posts them as one result (REST: ``rest=True``)."""

    def __init__(self, client: RuntimeApiClient, request_id: str, rest: bool = False) -> None:
        self._client = client
        self._request_id = request_id
        self._rest = rest
        self._content_type = DEFAULT_CONTENT_TYPE
        self._data = bytearray()
        self.committed = False  # nothing reaches Lambda before finish(): errors go to /error

    def set_content_type(self, content_type: str) -> None:
        self._content_type = content_type

    def send(self, pieces: Sequence[bytes]) -> None:
        for piece in pieces:
            self._data += piece

    def finish(
        self,
        error: dict[str, Any] | None = None,
        last: Sequence[bytes] = (),
        ends_invocation: bool = False,
    ) -> None:
        if error is not None:
            raise AssertionError("a buffered response reports errors through /error")
        self.send(last)
        result = function_url_result(bytes(self._data), self._content_type)
        if self._rest:
            result = rest_proxy_result(result)
        body = json.dumps(result, ensure_ascii=False).encode()
        # Only now: a failure building the result above still goes to /error. From here the
        # result is Lambda's (a failed post is reported as for any buffered result).
        self.committed = True
        post_response(self._client, self._request_id, body, "application/json", ends_invocation)


def function_url_result(data: bytes, content_type: str) -> dict[str, Any]:
    """The buffered Function URL response for a stream's bytes (prelude split off if present)."""
    metadata: dict[str, Any] = {"statusCode": 200, "headers": {"Content-Type": content_type}}
    if content_type == HTTP_INTEGRATION_CONTENT_TYPE:
        prelude, found, data = data.partition(DELIMITER)
        if not found:
            raise ValueError("HTTP integration stream without the 8-NUL prelude delimiter")
        metadata = json.loads(prelude)
    result: dict[str, Any] = {
        "statusCode": metadata.get("statusCode", 200),
        "headers": metadata.get("headers") or {},
    }
    if metadata.get("multiValueHeaders"):
        result["multiValueHeaders"] = metadata["multiValueHeaders"]
    if metadata.get("cookies"):
        result["cookies"] = metadata["cookies"]
    try:
        result["body"] = data.decode("utf-8")
        result["isBase64Encoded"] = False
    except UnicodeDecodeError:
        import base64

        result["body"] = base64.b64encode(data).decode("ascii")
        result["isBase64Encoded"] = True
    return result


def rest_proxy_result(result: dict[str, Any]) -> dict[str, Any]:
    """A Function URL result as a REST proxy result: the five fields API Gateway accepts."""
    multi = {name: list(values) for name, values in (result.get("multiValueHeaders") or {}).items()}
    cookies = result.get("cookies")
    if cookies:
        name = next((n for n in multi if n.lower() == "set-cookie"), "Set-Cookie")
        multi[name] = [*multi.get(name, []), *cookies]
    proxy: dict[str, Any] = {"statusCode": result["statusCode"], "headers": result["headers"]}
    if multi:
        proxy["multiValueHeaders"] = multi
    proxy["body"] = result["body"]
    proxy["isBase64Encoded"] = result["isBase64Encoded"]
    return proxy

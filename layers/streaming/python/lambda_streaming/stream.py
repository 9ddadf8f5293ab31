"""The response stream a handler writes to, and its Function URL (HTTP integration) form.

Mirrors Node's ``awslambda`` streams so their documentation carries over, with two fixes: the
HTTP prelude is sent even when the body is empty (Node drops it, losing status and headers), and
changing the content type after the first byte is an error instead of a silent no-op.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any, Protocol

    class Sink(Protocol):
        """Where a stream's bytes go: the chunked POST, or a buffer in BUFFERED mode."""

        committed: bool

        def set_content_type(self, content_type: str) -> None: ...
        def send(self, pieces: Sequence[bytes]) -> None: ...
        def finish(self, error: dict[str, Any] | None = None) -> None: ...


HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
DELIMITER = b"\x00" * 8  # between the JSON prelude and the body (Node DELIMITER_LEN = 8)


class StreamStateError(RuntimeError):
    """The stream was used in a way its state does not allow (e.g. write after end)."""


class ResponseStream:
    """A writable byte stream; every ``write()`` goes to the client at once.

    ``write`` blocks while the reader is slow (back-pressure), so a fast producer cannot
    exhaust memory. It accepts ``str`` (sent as UTF-8) or bytes-like objects.
    """

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._content_type = DEFAULT_CONTENT_TYPE
        self._metadata: dict[str, Any] | None = None
        self._started = False
        self._ended = False

    @property
    def content_type(self) -> str:
        """For an HTTP stream, the response's Content-Type header; else the raw stream's."""
        if self._metadata is not None:
            for name, value in self._metadata.get("headers", {}).items():
                if name.lower() == "content-type":
                    return value
            return ""
        return self._content_type

    @property
    def started(self) -> bool:
        """True once the first bytes were handed on; status and headers are fixed from then."""
        return self._started

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def committed(self) -> bool:
        """True once bytes reached the platform: an error can then only end the stream."""
        return self._sink.committed

    def set_content_type(self, content_type: str) -> None:
        if self._started:
            raise StreamStateError(
                "set_content_type() must be called before the first write(): the content type "
                "was sent with the first bytes"
            )
        if not isinstance(content_type, str) or not content_type:
            raise TypeError("content_type must be a non-empty str")
        if self._metadata is not None:
            headers = self._metadata.setdefault("headers", {})
            for name in [n for n in headers if n.lower() == "content-type"]:
                del headers[name]
            headers["Content-Type"] = content_type
        else:
            self._content_type = content_type
            self._sink.set_content_type(content_type)

    def write(self, data: str | bytes | bytearray | memoryview) -> None:
        if self._ended:
            raise StreamStateError("write() after end(): the response is already complete")
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"write() takes str or bytes, not {type(data).__name__}")
        if not data and self._started:
            return  # an empty chunk would end the HTTP body early
        self._sink.send(self._with_prelude(data) if not self._started else (data,))

    def writelines(self, lines: Iterable[str | bytes]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Nothing to do: writes are never buffered. Present so print(file=stream) works."""

    def end(self, data: str | bytes | None = None) -> None:
        """Finish the response. Called for you when the handler returns; safe to repeat."""
        if self._ended:
            return
        if data:
            self.write(data)
        if not self._started:
            self._sink.send(self._with_prelude(b""))
        self._ended = True
        self._sink.finish()

    def _abort(self, error: dict[str, Any]) -> None:
        """End the body reporting ``error`` (the runtime's path for a failure mid-stream)."""
        self._ended = True
        self._sink.finish(error)

    def _use_http_integration(self, metadata: dict[str, Any]) -> None:
        if self._started:
            raise StreamStateError("HttpResponseStream.from_() must come before the first write()")
        self._metadata = metadata
        self._content_type = HTTP_INTEGRATION_CONTENT_TYPE
        self._sink.set_content_type(HTTP_INTEGRATION_CONTENT_TYPE)

    def _with_prelude(self, data: bytes | bytearray | memoryview) -> tuple[bytes, ...]:
        self._started = True
        pieces: tuple[bytes, ...] = (bytes(data),) if data else ()
        if self._metadata is None:
            return pieces
        prelude = json.dumps(self._metadata, separators=(",", ":"), ensure_ascii=False)
        # Prelude and delimiter as chunks of their own, as AWS's Node client sends them.
        return (prelude.encode("utf-8"), DELIMITER, *pieces)

    def __enter__(self) -> ResponseStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.end()


class HttpResponseStream:
    """Status, headers and cookies for a Function URL response (Node's ``HttpResponseStream``)."""

    @staticmethod
    def from_(stream: ResponseStream, metadata: Mapping[str, Any] | None = None) -> ResponseStream:
        """Turn ``stream`` into an HTTP response stream and return it.

        ``metadata`` is ``{"statusCode": int, "headers": {str: str}, "cookies": [str]}``; all
        optional (status 200). It is sent as the JSON prelude before the first body byte.
        """
        stream._use_http_integration(http_metadata(metadata or {}))
        return stream


def http_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a prelude now, not as a 502 at the Function URL later."""
    if not isinstance(metadata, Mapping):
        raise TypeError("HTTP response metadata must be a dict")
    result: dict[str, Any] = dict(metadata)
    status = result.setdefault("statusCode", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode must be an int from 100 to 599, got {status!r}")
    headers = result.get("headers")
    if headers is not None:
        if not isinstance(headers, Mapping):
            raise TypeError("headers must be a dict of str to str")
        result["headers"] = {str(k): _header_value(k, v) for k, v in headers.items()}
    cookies = result.get("cookies")
    if cookies is not None:
        if isinstance(cookies, str) or not all(isinstance(c, str) for c in cookies):
            raise TypeError("cookies must be a list of str")
        result["cookies"] = list(cookies)
    return result


def _header_value(name: object, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"header {name!r} must be a str, got {type(value).__name__}")
    return str(value)

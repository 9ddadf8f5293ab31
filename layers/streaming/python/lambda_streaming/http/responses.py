"""``StreamingResponse``: return an iterable and let the runtime stream it.

The Pythonic alternative to writing to the stream by hand, shaped like Starlette's response of the
same name. A handler with the plain ``(event, context)`` signature can return one, which keeps
decorators such as Powertools' ``inject_lambda_context`` working.
"""

from __future__ import annotations

from lambda_streaming.http.prelude import HttpResponseStream

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
    from typing import Any

    from lambda_streaming.runtime.stream import ResponseStream

    Content = str | bytes
    Body = Content | Iterable[Content] | AsyncIterable[Content]


class StreamingResponse:
    def __init__(
        self,
        body: Body = b"",
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        cookies: Sequence[str] | None = None,
        media_type: str | None = None,
        multi_value_headers: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        if body is None:
            body = b""
        if not isinstance(body, str | bytes) and not (
            hasattr(body, "__iter__") or hasattr(body, "__aiter__")
        ):
            raise TypeError(
                "StreamingResponse body must be str, bytes, or an iterable or async iterable "
                f"of them, not {type(body).__name__}"
            )
        self.body = body
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.cookies = list(cookies or [])
        self.media_type = media_type
        # {name: [values]}: a header sent once per value (API Gateway REST APIs read these).
        self.multi_value_headers = {k: list(v) for k, v in (multi_value_headers or {}).items()}

    def metadata(self) -> dict[str, Any]:
        """The HTTP prelude: status, headers (with Content-Type from media_type),
        multiValueHeaders, cookies."""
        headers = dict(self.headers)
        if self.media_type and not any(k.lower() == "content-type" for k in headers):
            media_type = self.media_type
            if media_type.startswith("text/") and "charset" not in media_type.lower():
                media_type += "; charset=utf-8"
            headers["Content-Type"] = media_type
        metadata: dict[str, Any] = {"statusCode": self.status_code, "headers": headers}
        if self.multi_value_headers:
            metadata["multiValueHeaders"] = self.multi_value_headers
        if self.cookies:
            metadata["cookies"] = self.cookies
        return metadata

    def stream_into(self, stream: ResponseStream, run: Callable[[Any], Any]) -> None:
        """Send this response on ``stream``; ``run`` drives an async body on the runtime's loop.

        The runtime calls this for any result that has it, so it need not know HTTP.
        """
        HttpResponseStream.from_(stream, self.metadata())
        body: Any = self.body  # which kind is told apart below
        if isinstance(body, str | bytes):
            stream.write(body)
        elif (open_async := getattr(body, "__aiter__", None)) is not None:
            run(_write_async(open_async(), stream))
        else:
            for part in body:
                stream.write(part)

    def __repr__(self) -> str:
        return f"StreamingResponse(status_code={self.status_code}, media_type={self.media_type!r})"


async def _write_async(parts: AsyncIterator[str | bytes], stream: ResponseStream) -> None:
    async for part in parts:
        stream.write(part)

"""``StreamingResponse``: return an iterable and let the runtime stream it.

The Pythonic alternative to writing to the stream by hand, shaped like Starlette's response of the
same name. A handler with the plain ``(event, context)`` signature can return one, which keeps
decorators such as Powertools' ``inject_lambda_context`` working.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
    from typing import Any

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

    def metadata(self) -> dict[str, Any]:
        """The HTTP prelude: status, headers (with Content-Type from media_type), cookies."""
        headers = dict(self.headers)
        if self.media_type and not any(k.lower() == "content-type" for k in headers):
            media_type = self.media_type
            if media_type.startswith("text/") and "charset" not in media_type.lower():
                media_type += "; charset=utf-8"
            headers["Content-Type"] = media_type
        metadata: dict[str, Any] = {"statusCode": self.status_code, "headers": headers}
        if self.cookies:
            metadata["cookies"] = self.cookies
        return metadata

    def __repr__(self) -> str:
        return f"StreamingResponse(status_code={self.status_code}, media_type={self.media_type!r})"

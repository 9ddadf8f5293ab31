"""BUFFERED mode: a stream collected whole and posted as one result.

Lambda never tells a runtime how it was invoked, so ``STREAM_INVOKE_MODE=BUFFERED`` (a Function
URL's ``InvokeMode: BUFFERED``) and ``sam local invoke`` (``AWS_SAM_LOCAL=true``, whose emulator
reads the whole body and ignores trailers) serve the same streaming handlers this way. What the
result looks like is not the runtime's business: a ``Shape`` named by the entry that composes
the runtime (``stream-bootstrap`` names the HTTP fronts' ``http.buffered.buffered_result``).
"""

from __future__ import annotations

from lambda_streaming.runtime.stream import DEFAULT_CONTENT_TYPE

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from lambda_streaming.runtime.interfaces import Buffer, ErrorDocument, Shape
    from lambda_streaming.runtime.pipeline import Pipeline


def raw_result(event: Any, data: bytes, content_type: str) -> tuple[bytes, str]:
    """The stream's bytes as they are: the shape when no front was composed in."""
    return data, content_type


class BufferedSink:
    """Keeps a stream's bytes; ``finish`` posts them as the invocation's one result."""

    def __init__(self, pipeline: Pipeline, request_id: str, event: Any, shape: Shape) -> None:
        self._pipeline = pipeline
        self._request_id = request_id
        self._event = event
        self._shape = shape
        self._content_type = DEFAULT_CONTENT_TYPE
        self._data = bytearray()
        self.committed = False  # nothing reaches Lambda before finish(): errors go to /error

    def set_content_type(self, content_type: str) -> None:
        self._content_type = content_type

    def send(self, pieces: Sequence[Buffer]) -> None:
        for piece in pieces:
            self._data += piece

    def finish(self, error: ErrorDocument | None = None, last: Sequence[Buffer] = ()) -> None:
        if error is not None:
            raise AssertionError("a buffered response reports errors through /error")
        self.send(last)
        body, content_type = self._shape(self._event, bytes(self._data), self._content_type)
        # Only now: a failure shaping the result above still goes to /error. From here the
        # result is Lambda's (a failed post is reported as for any buffered result).
        self.committed = True
        self._pipeline.post_response(self._request_id, body, content_type)

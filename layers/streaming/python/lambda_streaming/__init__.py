"""Stream HTTP responses from Python handlers on AWS Lambda's managed runtime.

Standard library only: this package is deployed as a layer and loaded on every cold start.
The names below are imported on first use (PEP 562), so starting the runtime loads only the
runtime; a handler pays for the HTTP side when it imports it.
"""

from __future__ import annotations

__version__ = "0.1.0"  # the distribution's version (pyproject.toml reads it here)

_EXPORTS = {
    "HttpResponseStream": "lambda_streaming.http.prelude",
    "ResponseStream": "lambda_streaming.runtime.stream",
    "StreamStateError": "lambda_streaming.runtime.stream",
    "StreamingResponse": "lambda_streaming.http.responses",
    "streamify_response": "lambda_streaming.runtime.handler",
}
__all__ = [
    "HttpResponseStream",
    "ResponseStream",
    "StreamStateError",
    "StreamingResponse",
    "streamify_response",
]

TYPE_CHECKING = False  # for type checkers and IDEs: the same names, eagerly
if TYPE_CHECKING:
    from lambda_streaming.http.prelude import HttpResponseStream
    from lambda_streaming.http.responses import StreamingResponse
    from lambda_streaming.runtime.handler import streamify_response
    from lambda_streaming.runtime.stream import ResponseStream, StreamStateError


def __getattr__(name: str) -> object:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lambda_streaming' has no attribute {name!r}")
    value = getattr(__import__(module_name, fromlist=[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value

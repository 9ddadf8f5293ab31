"""Stream HTTP responses from Python handlers on AWS Lambda's managed runtime.

Standard library only: this package is deployed as a layer and loaded on every cold start.
"""

from lambda_streaming.handler import streamify_response
from lambda_streaming.responses import StreamingResponse
from lambda_streaming.stream import HttpResponseStream, ResponseStream, StreamStateError

__all__ = [
    "HttpResponseStream",
    "ResponseStream",
    "StreamStateError",
    "StreamingResponse",
    "streamify_response",
]

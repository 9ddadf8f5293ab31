"""JSON lines (application/x-ndjson): one JSON object per line, for pipelines and jq.

The handler is thin on purpose: the layer parses the request, runs the source and encodes
the messages; this module only chooses the format and adds Powertools logging and tracing.
Returning a StreamingResponse (rather than writing to a stream) keeps the plain
``(event, context)`` signature that Powertools' decorators expect.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_streaming import StreamingResponse, streamify_response
from lambda_streaming.formats import STREAMING_HEADERS, ndjson
from lambda_streaming.messages import Done, Error
from lambda_streaming.pipeline import generate
from lambda_streaming.prompt import PromptRequest, RequestError, parse_request
from lambda_streaming.sources import source_from_env

logger = Logger()
tracer = Tracer()


@streamify_response
@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> StreamingResponse:
    try:
        request = parse_request(event)
    except RequestError as error:
        logger.info("request rejected", extra={"status": error.status_code, "code": error.code})
        return StreamingResponse(error.body, status_code=error.status_code, headers=error.headers)
    headers = {"Content-Type": ndjson.MEDIA_TYPE, **STREAMING_HEADERS}
    return StreamingResponse(stream_body(request, context), headers=headers)


@tracer.capture_method
def stream_body(request: PromptRequest, context: LambdaContext) -> Iterator[bytes]:
    """Runs while the runtime streams the response, after the handler has returned."""
    for message in generate(source_from_env(), request, context):
        if isinstance(message, Error):
            logger.warning("stream failed", extra={"code": message.code})
        elif isinstance(message, Done):
            logger.info("stream ended", extra=asdict(message))
        data = ndjson.encode(message)
        if data:
            yield data

"""JSON lines (application/x-ndjson): one JSON object per line, for pipelines and jq.

Thin on purpose: the app layer (token_stream) parses the request, runs the source and
encodes the messages; this module only picks the format and adds Powertools logging and tracing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_streaming import StreamingResponse, streamify_response
from token_stream.formats import ndjson
from token_stream.prompt_response import prompt_response

logger = Logger()
tracer = Tracer()


@streamify_response
@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> StreamingResponse:
    return prompt_response(event, context, ndjson, logger=logger)

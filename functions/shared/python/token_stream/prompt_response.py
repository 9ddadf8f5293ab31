"""A prompt in, a streamed answer out: everything the three functions share.

The functions differ only in their wire format, so the whole request-to-response path lives
here and a handler is one call: ``return prompt_response(event, context, sse, logger=logger)``.
It returns a ``StreamingResponse`` rather than writing to a stream, which keeps the plain
``(event, context)`` signature that Powertools' decorators expect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any, Protocol

from lambda_streaming import StreamingResponse
from lambda_streaming.http.cors import cors_headers
from token_stream.formats import STREAMING_HEADERS
from token_stream.messages import Done, Error, Message
from token_stream.pipeline import generate
from token_stream.prompt import PromptRequest, RequestError, parse_request
from token_stream.sources import source_from_env


class Format(Protocol):
    """A module of ``token_stream.formats``."""

    MEDIA_TYPE: str

    def encode(self, message: Message) -> bytes: ...


class Log(Protocol):
    """What is logged through: a standard ``logging.Logger`` or Powertools' ``Logger``."""

    def info(self, msg: str, *, extra: dict[str, Any]) -> None: ...

    def warning(self, msg: str, *, extra: dict[str, Any]) -> None: ...


def prompt_response(
    event: dict[str, Any],
    context: Any,
    wire_format: Format,
    *,
    logger: Log | None = None,
) -> StreamingResponse:
    """Bad input gets its 4xx JSON answer before any streaming; good input streams.

    Behind a REST API the answer carries the CORS origin header itself (``CORS_ALLOW_ORIGINS``),
    which a Function URL adds on its own.
    """
    log: Log = logger or logging.getLogger(__name__)
    cors = cors_headers(event)
    try:
        request = parse_request(event)
    except RequestError as error:
        log.info("request rejected", extra={"status": error.status_code, "code": error.code})
        headers = {**error.headers, **cors}
        return StreamingResponse(error.body, status_code=error.status_code, headers=headers)
    headers = {"Content-Type": wire_format.MEDIA_TYPE, **STREAMING_HEADERS, **cors}
    return StreamingResponse(_body(request, context, wire_format, log), headers=headers)


def _body(request: PromptRequest, context: Any, wire_format: Format, log: Log) -> Iterator[bytes]:
    """Runs while the runtime streams the response, after the handler has returned."""
    for message in generate(source_from_env(), request, context):
        if isinstance(message, Error):
            log.warning("stream failed", extra={"code": message.code})
        elif isinstance(message, Done):
            log.info("stream ended", extra=asdict(message))
        data = wire_format.encode(message)
        if data:
            yield data

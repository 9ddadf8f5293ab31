"""Which front an event came from: the one place that tells a Function URL event (payload 2.0)
from a REST API event (payload 1.0), read from the event itself, never configured.

Everything that differs between the two lives in its front (``function_url``, ``rest_api``):
the request, the response head, the BUFFERED result and CORS. Code above them (handlers,
``StreamingResponse``, the adapters) asks ``front_for(event)`` and never parses an event.
"""

from __future__ import annotations

from lambda_streaming.http.function_url import FUNCTION_URL
from lambda_streaming.http.rest_api import REST_API

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from lambda_streaming.http.request import Front, Request


class BadEvent(ValueError):
    """Not an HTTP event of either front (a direct invoke, another event source), or one whose
    body cannot be read."""


def front_for(event: object) -> Front:
    """The front that sent ``event``; ``BadEvent`` if neither did."""
    if isinstance(event, dict):
        if FUNCTION_URL.matches(event):
            return FUNCTION_URL
        if REST_API.matches(event):
            return REST_API
    raise BadEvent(
        "not an HTTP event: expected a Function URL event (payload 2.0, requestContext.http."
        "method) or an API Gateway REST proxy event (payload 1.0, httpMethod)"
    )


def request_from_event(event: object) -> Request:
    """The HTTP request ``event`` describes, whichever front sent it; ``BadEvent`` if neither
    did or its body is not what it claims (base64)."""
    front = front_for(event)
    try:
        return front.request(event)  # type: ignore[arg-type]  # front_for: it is a dict
    except ValueError as exc:
        raise BadEvent(str(exc)) from None

"""BUFFERED mode's result, shaped for the front the event came from.

The runtime collects a stream whole (``runtime.buffered``) and hands it here, as the entry that
composes the two names it (``stream-bootstrap``): a Function URL result for a 2.0 event, a
REST proxy result for a 1.0 event, a Function URL result for anything else (a direct invoke
shows what the URL would have answered).
"""

from __future__ import annotations

import json

from lambda_streaming.http.front import BadEvent, front_for
from lambda_streaming.http.function_url import FUNCTION_URL
from lambda_streaming.http.prelude import DELIMITER, HTTP_INTEGRATION_CONTENT_TYPE

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

    from lambda_streaming.http.request import Front


def buffered_result(event: Any, data: bytes, content_type: str) -> tuple[bytes, str]:
    """A stream's bytes (prelude, 8 NULs, body; or a bare body) as the front's JSON result."""
    metadata: dict[str, Any] = {"statusCode": 200, "headers": {"Content-Type": content_type}}
    if content_type == HTTP_INTEGRATION_CONTENT_TYPE:
        prelude, found, data = data.partition(DELIMITER)
        if not found:
            raise ValueError("HTTP integration stream without the 8-NUL prelude delimiter")
        metadata = json.loads(prelude)
    front: Front
    try:
        front = front_for(event)
    except BadEvent:
        front = FUNCTION_URL
    result = front.buffered_result(metadata, data)
    return json.dumps(result, ensure_ascii=False).encode(), "application/json"

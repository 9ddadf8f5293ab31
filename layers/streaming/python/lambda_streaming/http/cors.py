"""CORS headers a function must send itself: behind a REST API, whose proxy integration adds
none (SAM's ``Cors`` only answers preflights), so a browser on another origin would be refused
the streamed answer. A Function URL's ``Cors`` setting adds them itself: nothing to send there.
"""

from __future__ import annotations

import os

from lambda_streaming.http.front import BadEvent, front_for

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def cors_headers(event: Mapping[str, Any], allow_origins: str | None = None) -> dict[str, str]:
    """The CORS headers for ``event``'s response; ``allow_origins`` (comma-separated, ``*`` for
    any) defaults to ``CORS_ALLOW_ORIGINS``, as the template sets it."""
    if allow_origins is None:
        allow_origins = os.environ.get("CORS_ALLOW_ORIGINS", "")
    try:
        return front_for(event).cors_headers(event, allow_origins)
    except BadEvent:
        return {}

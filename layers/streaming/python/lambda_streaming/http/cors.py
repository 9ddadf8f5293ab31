"""CORS headers a function behind an API Gateway REST API must send itself.

A Function URL's ``Cors`` setting adds ``Access-Control-Allow-Origin`` to every response; a
REST API's proxy integration does not (SAM's ``Cors`` only answers preflight requests), so a
browser on another origin would be refused the streamed answer. ``rest_cors_headers`` gives
the headers for a 1.0 event from a comma-separated list of allowed origins (``*`` for any),
as ``CORS_ALLOW_ORIGINS`` holds it in the template; nothing for 2.0 events, whose URL does it.
"""

from __future__ import annotations

import os

from lambda_streaming.http.request import is_rest_event

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def rest_cors_headers(event: Mapping[str, Any], allow_origins: str | None = None) -> dict[str, str]:
    """``Access-Control-Allow-Origin`` for a REST event whose Origin is allowed, and ``Vary:
    Origin`` whenever the answer depends on the Origin (so a cache keeps one per origin)."""
    allowed = os.environ.get("CORS_ALLOW_ORIGINS", "") if allow_origins is None else allow_origins
    origins = [origin.strip().rstrip("/") for origin in allowed.split(",") if origin.strip()]
    if not origins or not is_rest_event(event):
        return {}
    if "*" in origins:  # the same answer for every origin
        return {"Access-Control-Allow-Origin": "*"} if _origin(event) else {}
    origin = _origin(event)
    if origin and origin.rstrip("/").lower() in {o.lower() for o in origins}:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


def _origin(event: Mapping[str, Any]) -> str | None:
    """The request's last Origin value, read straight from the event: building a whole
    ``Request`` (body decoded, every pair copied) for one header costs more than the answer."""
    mapping = event.get("multiValueHeaders") or event.get("headers")
    if not hasattr(mapping, "items"):
        return None
    found = None
    for name, value in mapping.items():
        if isinstance(name, str) and name.lower() == "origin":
            if isinstance(value, list):
                value = value[-1] if value else None
            if value is not None:
                found = str(value)
    return found

"""Wire formats: pure encoders from ``messages`` to bytes, one module per media type.

Each module exposes ``MEDIA_TYPE`` and ``encode(message) -> bytes``; ``encode`` returns
``b""`` for a message the format has no way to show (a heartbeat in raw text).
"""

from __future__ import annotations

from types import MappingProxyType

# Streamed responses must not be cached or buffered by whatever sits in front of the
# function URL (CloudFront, nginx-style proxies honour X-Accel-Buffering).
STREAMING_HEADERS = MappingProxyType({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

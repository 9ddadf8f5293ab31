"""Server-sent events (``text/event-stream``), as the WHATWG HTML standard parses them.

What a client receives:

- ``status`` (named event, JSON data ``{"state", "source"}``), preceded by ``retry:``;
- one unnamed event per token: its data is the token text itself and its ``id`` the token
  index. Unnamed events are dispatched as ``message``, so ``EventSource.onmessage`` gets
  every token with no ``addEventListener`` call, and ``lastEventId`` counts them;
- ``: keep-alive`` comment lines while the source is silent (clients ignore comments);
- ``error`` (named event, JSON data ``{"code", "message"}``) if the source failed;
- ``done`` (named event, JSON data ``{"tokens", "reason", "first_token_ms", "elapsed_ms"}``),
  always last. An ``EventSource`` reconnects when a stream closes, so browser clients
  should call ``close()`` on ``done``.

A browser also fires a plain ``Event`` named ``error`` when the connection fails; ours is
a ``MessageEvent`` with ``data``, which is how a listener tells them apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict

from token_stream.messages import Done, Error, Heartbeat, Message, Status, Token

MEDIA_TYPE = "text/event-stream"
DEFAULT_RETRY_MS = 3000

# The standard ends a line at CRLF, LF or CR; a token containing any of them must be
# spread over several data: lines, which the client joins back with LF.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def encode(message: Message, *, retry_ms: int = DEFAULT_RETRY_MS) -> bytes:
    """``retry_ms``: how long a disconnected EventSource waits before reconnecting."""
    if isinstance(message, Token):
        return _event(data=message.text, event_id=str(message.index))
    if isinstance(message, Heartbeat):
        return b": keep-alive\n\n"
    if isinstance(message, Status):
        return f"retry: {retry_ms}\n".encode() + _event("status", _json(message))
    if isinstance(message, Error | Done):
        return _event(type(message).__name__.lower(), _json(message))
    raise TypeError(f"not a message: {message!r}")


def _event(event_type: str | None = None, data: str = "", event_id: str | None = None) -> bytes:
    lines = []
    if event_type:
        lines.append(f"event: {event_type}")
    if event_id is not None:
        lines.append(f"id: {event_id}")
    # "data: " then the text: the parser drops exactly one space after the colon, so a
    # token's own leading space survives.
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return ("\n".join(lines) + "\n\n").encode()


def _json(message: Message) -> str:
    return json.dumps(asdict(message), ensure_ascii=False, separators=(",", ":"))

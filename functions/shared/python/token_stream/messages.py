"""The one event model behind all three wire formats.

A response is a sequence of messages: ``Status`` first, then ``Token``s (with ``Heartbeat``s
while the source is silent), then at most one ``Error``, then always one ``Done``. The
formats only decide how each message looks on the wire, so the three functions tell a
client exactly the same story.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Why a stream ended: the source finished, hit its token limit, the function was about to
# time out, or the source failed (an ``Error`` precedes that ``Done``).
EndReason = Literal["complete", "max_tokens", "deadline", "error"]


@dataclass(frozen=True, slots=True)
class Status:
    """Work has started; sent before the first token so clients see life at once."""

    state: str
    source: str


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    index: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Nothing to say yet; keeps proxies and clients from timing the stream out."""


@dataclass(frozen=True, slots=True)
class Error:
    """A failure after streaming began. ``message`` is safe to show: no internals, no trace."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Done:
    """The last message of every stream, whatever happened before it."""

    tokens: int
    reason: EndReason | str
    first_token_ms: float | None
    elapsed_ms: float


Message = Status | Token | Heartbeat | Error | Done

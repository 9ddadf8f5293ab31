"""JSON lines (``application/x-ndjson``): one compact JSON object per line.

Every object has a ``type`` (``status``, ``token``, ``heartbeat``, ``error``, ``done``) and
the message's fields, so ``jq`` and line-by-line readers need no other parser.
``json.dumps`` escapes newlines inside strings, which is what keeps one message per line.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from token_stream.messages import Done, Error, Heartbeat, Message, Status, Token

MEDIA_TYPE = "application/x-ndjson"

_TYPES: dict[type, str] = {
    Status: "status",
    Token: "token",
    Heartbeat: "heartbeat",
    Error: "error",
    Done: "done",
}


def encode(message: Message) -> bytes:
    document = {"type": _TYPES[type(message)], **asdict(message)}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

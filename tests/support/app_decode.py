"""Read our three formats back with real clients' parsers, independently of the encoders."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sseclient import SSEClient

MEDIA_TYPES = {
    "raw_text": "text/plain; charset=utf-8",
    "sse": "text/event-stream",
    "jsonl": "application/x-ndjson",
}
# Raw text's only metadata: one notice line when a stream ends abnormally.
_TEXT_NOTICE = re.compile(
    r"\n\[(?:error (?P<code>[a-z_]+)|(?P<stopped>stopped)): .*\]\n$", re.DOTALL
)


@dataclass
class Outcome:
    """What a client learned: the tokens, the error (if any) and the final summary."""

    tokens: list[str] = field(default_factory=list)
    status: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    done: dict[str, Any] | None = None
    kinds: list[str] = field(default_factory=list)  # the event/line types, in order

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def decode(function: str, chunks: Iterable[bytes]) -> Outcome:
    return {"raw_text": _text, "sse": _sse, "jsonl": _ndjson}[function](list(chunks))


def _sse(chunks: list[bytes]) -> Outcome:
    outcome = Outcome()
    for event in SSEClient(chunks).events():
        outcome.kinds.append(event.event)
        if event.event == "message":
            assert event.id == str(len(outcome.tokens)), "token ids must count up from 0"
            outcome.tokens.append(event.data)
        elif event.event in ("status", "error", "done"):
            setattr(outcome, event.event, json.loads(event.data))
    return outcome


def _ndjson(chunks: list[bytes]) -> Outcome:
    outcome = Outcome()
    body = b"".join(chunks).decode()
    assert body.endswith("\n"), "every JSON line ends with a newline"
    for line in body.splitlines():
        item = json.loads(line)
        outcome.kinds.append(item["type"])
        if item["type"] == "token":
            assert item["index"] == len(outcome.tokens)
            outcome.tokens.append(item["text"])
        elif item["type"] in ("status", "error", "done"):
            setattr(outcome, item["type"], item)
    return outcome


def _text(chunks: list[bytes]) -> Outcome:
    body = b"".join(chunks).decode()
    outcome = Outcome()
    notice = _TEXT_NOTICE.search(body)
    if notice:
        if notice["stopped"]:
            outcome.done = {"reason": "deadline"}
        else:
            outcome.error = {"code": notice["code"]}
        body = body[: notice.start()]
    # The built-in generator's tokens are words, each after a space but the first.
    outcome.tokens = re.findall(r"^\S+|\s\S+", body)
    outcome.kinds = ["token"] * len(outcome.tokens)
    return outcome

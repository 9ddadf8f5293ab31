"""The three wire formats, read back by real parsers (sseclient-py, json per line)."""

from __future__ import annotations

import json

import pytest
from sseclient import SSEClient

from token_stream.formats import ndjson, sse, text
from token_stream.messages import Done, Error, Heartbeat, Message, Status, Token

TOKENS = ["Hello", " world", "two\nlines", "crlf\r\nend", "ünï©ødé ✓", "data: not a field", "\n"]
STREAM: list[Message] = [
    Status("started", "builtin"),
    *(Token(t, i) for i, t in enumerate(TOKENS[:3])),
    Heartbeat(),
    *(Token(t, i) for i, t in enumerate(TOKENS[3:], start=3)),
    Error("generator_failed", 'It said "no"\non two lines.'),
    Done(len(TOKENS), "error", 12.5, 40.0),
]


def chunked(data: bytes, size: int) -> list[bytes]:
    """Arbitrary chunk boundaries: clients must not depend on one write per chunk."""
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
def test_sse_reads_back_with_sseclient(chunk_size: int) -> None:
    wire = b"".join(sse.encode(m) for m in STREAM)
    events = list(SSEClient(chunked(wire, chunk_size)).events())

    assert [e.event for e in events] == ["status"] + ["message"] * len(TOKENS) + ["error", "done"]
    status, *tokens, error, done = events
    assert json.loads(status.data) == {"state": "started", "source": "builtin"}
    assert status.retry == str(sse.DEFAULT_RETRY_MS)
    # The standard turns every line break into LF, and keeps one leading space.
    assert [e.data for e in tokens] == [t.replace("\r\n", "\n") for t in TOKENS]
    assert [e.id for e in tokens] == [str(i) for i in range(len(TOKENS))]
    assert json.loads(error.data) == {
        "code": "generator_failed",
        "message": 'It said "no"\non two lines.',
    }
    assert json.loads(done.data) == {
        "tokens": len(TOKENS),
        "reason": "error",
        "first_token_ms": 12.5,
        "elapsed_ms": 40.0,
    }


def test_sse_exact_bytes() -> None:
    assert sse.encode(Token(" hi", 3)) == b"id: 3\ndata:  hi\n\n"
    assert sse.encode(Token("a\nb", 4)) == b"id: 4\ndata: a\ndata: b\n\n"
    assert sse.encode(Heartbeat()) == b": keep-alive\n\n"
    assert sse.encode(Status("started", "bedrock"), retry_ms=500) == (
        b'retry: 500\nevent: status\ndata: {"state":"started","source":"bedrock"}\n\n'
    )
    assert sse.encode(Done(2, "complete", 1.0, 2.0)).startswith(b"event: done\ndata: {")


def test_sse_lone_carriage_return_ends_a_line() -> None:
    events = list(SSEClient([sse.encode(Token("a\rb", 0))]).events())
    assert [e.data for e in events] == ["a\nb"]


def test_ndjson_one_object_per_line() -> None:
    wire = b"".join(ndjson.encode(m) for m in STREAM)
    lines = wire.decode().split("\n")
    assert lines.pop() == ""  # every object ends with a newline, including the last
    assert len(lines) == len(STREAM)
    objects = [json.loads(line) for line in lines]
    assert [o["type"] for o in objects] == (
        ["status", "token", "token", "token", "heartbeat"] + ["token"] * 4 + ["error", "done"]
    )
    assert [o["text"] for o in objects if o["type"] == "token"] == TOKENS
    assert [o["index"] for o in objects if o["type"] == "token"] == list(range(len(TOKENS)))
    assert objects[-2] == {
        "type": "error",
        "code": "generator_failed",
        "message": 'It said "no"\non two lines.',
    }
    assert objects[-1] == {
        "type": "done",
        "tokens": len(TOKENS),
        "reason": "error",
        "first_token_ms": 12.5,
        "elapsed_ms": 40.0,
    }
    assert b" " not in ndjson.encode(Status("started", "builtin"))  # compact separators


def test_text_is_the_tokens_and_says_how_it_ended() -> None:
    complete = [Status("started", "builtin"), Token("a", 0), Heartbeat(), Token(" b", 1)]
    complete.append(Done(2, "complete", 1.0, 2.0))
    assert b"".join(text.encode(m) for m in complete) == b"a b"

    failed = b"".join(text.encode(m) for m in STREAM).decode()
    assert failed.startswith("".join(TOKENS))
    assert failed.endswith('\n[error generator_failed: It said "no"\non two lines.]\n')

    cut = text.encode(Done(5, "deadline", 1.0, 2.0))
    assert b"time limit" in cut


def test_media_types() -> None:
    assert text.MEDIA_TYPE == "text/plain; charset=utf-8"
    assert sse.MEDIA_TYPE == "text/event-stream"
    assert ndjson.MEDIA_TYPE == "application/x-ndjson"

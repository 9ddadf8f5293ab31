"""The event-stream encoder, checked by decoding with botocore's own parser."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from streamlab.eventstream import (
    Int8,
    Int16,
    Int64,
    encode_message,
    error_message,
    event_message,
    exception_message,
    json_event_message,
)


def decode_all(data: bytes, piece: int | None = None) -> list:
    buffer = EventStreamBuffer()
    messages = []
    step = piece or len(data) or 1
    for start in range(0, len(data), step):
        buffer.add_data(data[start : start + step])
        messages.extend(buffer)
    return messages


def test_every_header_type_round_trips_through_botocore() -> None:
    when = datetime(2026, 11, 21, 21, 48, 46, 123000, tzinfo=UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    headers = {
        "yes": True,
        "no": False,
        "byte": Int8(-5),
        "short": Int16(-300),
        "int": 70000,
        "long": Int64(2**40),
        "bytes": b"\x00\x01\xff",
        "string": "héllo",
        "time": when,
        "id": ident,
    }
    [message] = decode_all(encode_message(headers, b"payload"))
    assert message.payload == b"payload"
    decoded = message.headers
    assert decoded["yes"] is True and decoded["no"] is False
    assert decoded["byte"] == -5 and decoded["short"] == -300
    assert decoded["int"] == 70000 and decoded["long"] == 2**40
    assert decoded["bytes"] == b"\x00\x01\xff"
    assert decoded["string"] == "héllo"
    assert decoded["time"] == int(when.timestamp() * 1000)
    assert decoded["id"] == ident.bytes


def test_messages_split_at_any_byte_are_reassembled() -> None:
    stream = event_message("PayloadChunk", b"a" * 40) + json_event_message(
        "InvokeComplete", {"ErrorCode": "E"}
    )
    for piece in (1, 3, 7, 50):
        messages = decode_all(stream, piece)
        assert [m.headers[":event-type"] for m in messages] == ["PayloadChunk", "InvokeComplete"]
        assert messages[0].payload == b"a" * 40
        assert json.loads(messages[1].payload) == {"ErrorCode": "E"}
        assert messages[1].headers[":content-type"] == "application/json"
        assert messages[0].headers[":message-type"] == "event"


@pytest.mark.parametrize("position", [2, 9, 20, -2])
def test_botocore_detects_a_corrupted_byte(position: int) -> None:
    """Both CRCs are real: flipping a byte anywhere fails botocore's checks."""
    data = bytearray(event_message("PayloadChunk", b"hello world"))
    data[position] ^= 0x01
    with pytest.raises(ChecksumMismatch):
        decode_all(bytes(data))


def test_exception_and_error_messages() -> None:
    [exc] = decode_all(exception_message("ThrottlingException", "slow down"))
    assert exc.headers[":message-type"] == "exception"
    assert exc.headers[":exception-type"] == "ThrottlingException"
    assert json.loads(exc.payload) == {"message": "slow down"}
    [err] = decode_all(error_message("InternalFailure", "oops"))
    assert err.headers == {
        ":error-code": "InternalFailure",
        ":error-message": "oops",
        ":message-type": "error",
    }
    assert err.payload == b""


def test_empty_payload_and_limits() -> None:
    [message] = decode_all(encode_message({":message-type": "event"}))
    assert message.payload == b""
    with pytest.raises(ValueError):
        encode_message({"": "x"})
    with pytest.raises(ValueError):
        encode_message({"big": "x" * 40000})
    with pytest.raises(TypeError):
        encode_message({"bad": 1.5})  # type: ignore[dict-item]

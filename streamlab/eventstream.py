"""Encoder for the AWS event-stream wire format (``application/vnd.amazon.eventstream``).

botocore only *decodes* event streams (``botocore.eventstream``); an emulator of
``InvokeWithResponseStream`` and test doubles of Bedrock's ``ConverseStream`` have to
*encode* them, so the framing is written here. Every message is::

    total length (uint32) | headers length (uint32) | CRC32 of the previous 8 bytes
    headers | payload | CRC32 of everything before it

and every header is ``name length (uint8) | name | type (uint8) | value``.
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Header value types of the wire format.
_TRUE, _FALSE, _BYTE, _SHORT, _INT, _LONG, _BYTES, _STRING, _TIMESTAMP, _UUID = range(10)

_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_MAX_HEADER_VALUE = 2**15 - 1  # botocore refuses longer byte/string header values


@dataclass(frozen=True)
class Int8:
    """A header value to send as a signed byte (plain ``int`` is sent as int32)."""

    value: int


@dataclass(frozen=True)
class Int16:
    value: int


@dataclass(frozen=True)
class Int64:
    value: int


HeaderValue = bool | int | str | bytes | datetime | uuid.UUID | Int8 | Int16 | Int64


def _encode_header_value(value: HeaderValue) -> bytes:
    # bool before int: bool is a subclass of int.
    if isinstance(value, bool):
        return bytes([_TRUE if value else _FALSE])
    if isinstance(value, Int8):
        return struct.pack(">Bb", _BYTE, value.value)
    if isinstance(value, Int16):
        return struct.pack(">Bh", _SHORT, value.value)
    if isinstance(value, Int64):
        return struct.pack(">Bq", _LONG, value.value)
    if isinstance(value, int):
        return struct.pack(">Bi", _INT, value)
    if isinstance(value, datetime):
        return struct.pack(">Bq", _TIMESTAMP, round(value.timestamp() * 1000))
    if isinstance(value, uuid.UUID):
        return bytes([_UUID]) + value.bytes
    if isinstance(value, str):
        kind, raw = _STRING, value.encode("utf-8")
    elif isinstance(value, bytes | bytearray | memoryview):
        kind, raw = _BYTES, bytes(value)
    else:
        raise TypeError(f"unsupported event-stream header value: {value!r}")
    if len(raw) > _MAX_HEADER_VALUE:
        raise ValueError(f"event-stream header value too long ({len(raw)} bytes)")
    return struct.pack(">BH", kind, len(raw)) + raw


def encode_headers(headers: Mapping[str, HeaderValue]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name = name.encode("utf-8")
        if not 0 < len(raw_name) < 256:
            raise ValueError(f"event-stream header name must be 1..255 bytes: {name!r}")
        out += bytes([len(raw_name)]) + raw_name + _encode_header_value(value)
    return bytes(out)


def encode_message(headers: Mapping[str, HeaderValue], payload: bytes = b"") -> bytes:
    """One complete event-stream message, CRCs included."""
    raw_headers = encode_headers(headers)
    total = _PRELUDE.size + _CRC.size + len(raw_headers) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(raw_headers))
    head = prelude + _CRC.pack(zlib.crc32(prelude))
    body = head + raw_headers + payload
    return body + _CRC.pack(zlib.crc32(body))


def event_message(
    event_type: str, payload: bytes = b"", content_type: str = "application/octet-stream"
) -> bytes:
    """A modelled event (``:message-type event``), as AWS services send them."""
    return encode_message(
        {":event-type": event_type, ":content-type": content_type, ":message-type": "event"},
        payload,
    )


def json_event_message(event_type: str, body: Mapping[str, Any]) -> bytes:
    """An event whose members are serialized as a JSON payload (rest-json/Bedrock style)."""
    payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
    return event_message(event_type, payload, content_type="application/json")


def exception_message(exception_type: str, message: str) -> bytes:
    """A modelled exception event (``:message-type exception``) ending a stream."""
    payload = json.dumps({"message": message}, separators=(",", ":")).encode("utf-8")
    return encode_message(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        payload,
    )


def error_message(error_code: str, error_message: str) -> bytes:
    """An unmodelled error (``:message-type error``), which botocore raises as EventStreamError."""
    return encode_message(
        {
            ":error-code": error_code,
            ":error-message": error_message,
            ":message-type": "error",
        }
    )

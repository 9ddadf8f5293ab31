"""Prelude parsing and buffered-result mapping of Function URLs (no sockets needed)."""

from __future__ import annotations

import base64
import json

import pytest

from streamlab.emulator.function_url import (
    PreludeReader,
    ResultError,
    head_from_result,
    map_buffered_result,
)

PRELUDE = json.dumps(
    {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-A": "1"},
        "cookies": ["a=1", "b=2"],
    }
).encode()
STREAM = PRELUDE + b"\x00" * 8 + b"body bytes"


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_prelude_split_anywhere(cut: int) -> None:
    """The delimiter (or the JSON) can be split across chunks at any byte."""
    reader = PreludeReader()
    first = reader.feed(STREAM[:cut])
    if first is None:
        head, rest = reader.feed(STREAM[cut:])
    else:
        head, rest = first
        rest += STREAM[cut:]
    assert head.status == 201
    assert ("Set-Cookie", "a=1") in head.headers and ("Set-Cookie", "b=2") in head.headers
    assert ("Content-Type", "text/plain") in head.headers
    assert rest == b"body bytes"


def test_prelude_fed_byte_by_byte() -> None:
    reader = PreludeReader()
    results = [reader.feed(bytes([b])) for b in STREAM[: len(PRELUDE) + 7]]
    assert all(r is None for r in results)
    head, rest = reader.feed(b"\x00")
    assert head.status == 201 and rest == b""


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'{"statusCode": "abc"}', b'{"statusCode": 700}', b'{"headers": 5}'],
)
def test_bad_prelude_is_an_error(raw: bytes) -> None:
    with pytest.raises(ResultError):
        PreludeReader().feed(raw + b"\x00" * 8)


def test_prelude_without_delimiter_is_bounded() -> None:
    reader = PreludeReader()
    with pytest.raises(ResultError):
        for _ in range(300):
            reader.feed(b"x" * 4096)


def test_multi_value_headers_and_framing_headers() -> None:
    head = head_from_result(
        {
            "statusCode": 200,
            "headers": {"Content-Length": "5", "Transfer-Encoding": "chunked", "X-One": 1},
            "multiValueHeaders": {"X-Many": ["a", "b"]},
        }
    )
    assert head.headers == (("X-One", "1"), ("X-Many", "a"), ("X-Many", "b"))


def test_result_with_status_code() -> None:
    result = {
        "statusCode": 404,
        "headers": {"Content-Type": "text/html"},
        "cookies": ["s=1; Path=/"],
        "body": "<p>missing</p>",
    }
    head, body = map_buffered_result(json.dumps(result).encode())
    assert head.status == 404
    assert head.headers == (("Content-Type", "text/html"), ("Set-Cookie", "s=1; Path=/"))
    assert body == b"<p>missing</p>"


def test_result_base64_body() -> None:
    raw = bytes(range(256))
    result = {"statusCode": 200, "body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    head, body = map_buffered_result(json.dumps(result).encode())
    assert body == raw
    assert ("Content-Type", "application/json") in head.headers


@pytest.mark.parametrize("result", ['"Hello, world!"', '{"message": "hi"}', "[1,2]", "null", "3"])
def test_anything_else_is_a_json_body(result: str) -> None:
    """The docs' examples: a string or an object without statusCode is the body itself."""
    head, body = map_buffered_result(result.encode())
    assert head.status == 200
    assert head.headers == (("Content-Type", "application/json"),)
    assert body == result.encode()


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"statusCode": 200, "body": "@@@", "isBase64Encoded": true}',
        b'{"statusCode": 99}',
    ],
)
def test_unmappable_results(payload: bytes) -> None:
    with pytest.raises(ResultError):
        map_buffered_result(payload)

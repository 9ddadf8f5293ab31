"""The layer's pure pieces: stream state, prelude, framing, buffered results, handler kinds."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lambda_streaming import HttpResponseStream, ResponseStream, StreamingResponse, StreamStateError
from lambda_streaming.http.buffered import buffered_result
from lambda_streaming.runtime.bootstrap import invoke_mode
from lambda_streaming.runtime.chunked import chunks, last_chunk
from lambda_streaming.runtime.errors import RuntimeFault
from lambda_streaming.runtime.failures import error_document
from lambda_streaming.runtime.handler import is_streaming, streamify_response, takes_stream


class MemorySink:
    """Records what a stream hands on, piece by piece."""

    def __init__(self) -> None:
        self.committed = False
        self.content_type = "application/octet-stream"
        self.sends: list[tuple[bytes, ...]] = []
        self.finished: list[dict[str, Any] | None] = []

    def set_content_type(self, content_type: str) -> None:
        self.content_type = content_type

    def send(self, pieces: Any) -> None:
        self.committed = True
        self.sends.append(tuple(pieces))

    def finish(self, error: dict[str, Any] | None = None, last: Any = ()) -> None:
        if last:  # sent with the end in one go; recorded like any send
            self.send(last)
        self.finished.append(error)


def test_prelude_and_delimiter_go_out_with_the_first_write() -> None:
    sink = MemorySink()
    stream = HttpResponseStream.from_(ResponseStream(sink), {"statusCode": 418})
    stream.set_content_type("text/plain")
    stream.write("é")
    stream.write(b"x")
    stream.end()
    assert sink.content_type == "application/vnd.awslambda.http-integration-response"
    assert sink.sends == [
        (b'{"statusCode":418,"headers":{"Content-Type":"text/plain"}}', b"\0" * 8, "é".encode()),
        (b"x",),
    ]
    assert sink.finished == [None]


def test_empty_http_response_still_sends_prelude() -> None:
    sink = MemorySink()
    HttpResponseStream.from_(ResponseStream(sink), {"statusCode": 204}).end()
    assert sink.sends == [(b'{"statusCode":204}', b"\0" * 8)]


def test_state_errors() -> None:
    stream = ResponseStream(MemorySink())
    stream.write("a")
    with pytest.raises(StreamStateError, match="before the first write"):
        stream.set_content_type("text/html")
    with pytest.raises(StreamStateError):
        HttpResponseStream.from_(stream, {})
    stream.end()
    stream.end()  # idempotent
    with pytest.raises(StreamStateError, match="after end"):
        stream.write("b")
    with pytest.raises(TypeError):
        ResponseStream(MemorySink()).write(1)  # type: ignore[arg-type]


def test_empty_writes_after_start_are_skipped() -> None:
    sink = MemorySink()
    stream = ResponseStream(sink)
    stream.write("a")
    stream.write("")
    assert sink.sends == [(b"a",)]


@pytest.mark.parametrize(
    "metadata",
    [{"statusCode": "200"}, {"statusCode": 99}, {"headers": ["x"]}, {"cookies": "a=1"},
     {"headers": {"X": None}}],
)  # fmt: skip
def test_bad_metadata_is_rejected_early(metadata: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        HttpResponseStream.from_(ResponseStream(MemorySink()), metadata)


def test_chunk_framing() -> None:
    assert (
        b"".join(chunks([b"hello", b"", b"x" * 16]))
        == b"5\r\nhello\r\n10\r\n" + b"x" * 16 + b"\r\n"
    )
    assert last_chunk() == b"0\r\n\r\n"
    assert last_chunk([("A", "b")]) == b"0\r\nA: b\r\n\r\n"
    with pytest.raises(ValueError):
        last_chunk([("A", "b\r\nc")])


def function_url_result(data: bytes, content_type: str) -> dict[str, Any]:
    body, result_type = buffered_result({"direct": "invoke"}, data, content_type)
    assert result_type == "application/json"
    return json.loads(body)  # type: ignore[no-any-return]


def test_function_url_result() -> None:
    data = b'{"statusCode":201,"headers":{"A":"b"},"cookies":["c=1"]}' + b"\0" * 8 + b"body\0"
    assert function_url_result(data, "application/vnd.awslambda.http-integration-response") == {
        "statusCode": 201,
        "headers": {"A": "b"},
        "cookies": ["c=1"],
        "body": "body\0",
        "isBase64Encoded": False,
    }
    binary = function_url_result(b"\xff\xfe", "application/octet-stream")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\xff\xfe"
    assert binary["headers"] == {"Content-Type": "application/octet-stream"}


def test_streaming_response_metadata() -> None:
    response = StreamingResponse(iter([]), 201, {"X": "1"}, ["a=1"], media_type="text/plain")
    assert response.metadata() == {
        "statusCode": 201,
        "headers": {"X": "1", "Content-Type": "text/plain; charset=utf-8"},
        "cookies": ["a=1"],
    }
    assert json.dumps(StreamingResponse(b"x").metadata()) == '{"statusCode": 200, "headers": {}}'
    with pytest.raises(TypeError):
        StreamingResponse(42)  # type: ignore[arg-type]


def test_handler_kinds() -> None:
    def plain(event, context): ...
    def writer(event, response_stream, context): ...

    class Handlers:
        def method(self, event, context): ...

    assert is_streaming(streamify_response(writer)) and takes_stream(writer)
    assert is_streaming(streamify_response(plain)) and not takes_stream(plain)
    bound = streamify_response(Handlers().method)
    assert is_streaming(bound) and not takes_stream(bound)
    assert not is_streaming(lambda event, context: None)


def test_error_document_shape() -> None:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        document = error_document(exc, "req")
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorType"] == "ValueError" and document["requestId"] == "req"
    assert 'raise ValueError("boom")' in document["stackTrace"][0]
    fault = error_document(RuntimeFault("Runtime.X", "msg"))
    assert fault == {
        "errorMessage": "msg",
        "errorType": "Runtime.X",
        "requestId": "",
        "stackTrace": [],
    }


def test_invoke_mode() -> None:
    assert invoke_mode({}) == "RESPONSE_STREAM"
    assert invoke_mode({"STREAM_INVOKE_MODE": "buffered"}) == "BUFFERED"
    assert (
        invoke_mode({"AWS_SAM_LOCAL": "true", "STREAM_INVOKE_MODE": "RESPONSE_STREAM"})
        == "BUFFERED"
    )
    with pytest.raises(RuntimeFault):
        invoke_mode({"STREAM_INVOKE_MODE": "yes"})

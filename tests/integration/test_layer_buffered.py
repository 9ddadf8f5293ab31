"""BUFFERED mode and undecorated handlers: one JSON result, as the stock runtime posts it."""

from __future__ import annotations

import base64

import pytest

from tests.support.layer_process import LayerHarness


def invoke(layer: LayerHarness, handler: str, event: object = None, raw: bytes | None = None,
           **env: str):  # fmt: skip
    layer.start(handler, **env)
    request_id = layer.api.push(event if event is not None else {}, raw=raw)
    return request_id, layer.api.result(request_id)


def assert_plain_post(got) -> None:
    """A buffered result is an ordinary POST: no streaming mode, no chunking."""
    assert got.header("Lambda-Runtime-Function-Response-Mode") is None
    assert got.header("Transfer-Encoding") is None
    assert got.header("Content-Length") == str(len(got.body))


@pytest.mark.parametrize("env", [{"STREAM_INVOKE_MODE": "BUFFERED"}, {"AWS_SAM_LOCAL": "true"}])
def test_http_stream_becomes_function_url_result(layer: LayerHarness, env: dict[str, str]) -> None:
    _, got = invoke(layer, "streaming.http", **env)
    assert got.kind == "response"
    assert_plain_post(got)
    assert got.header("Content-Type") == "application/json"
    assert got.json() == {
        "statusCode": 201,
        "headers": {"X-Test": "yes", "Content-Type": "text/plain; charset=utf-8"},
        "cookies": ["a=1; Path=/"],
        "body": "hello world",
        "isBase64Encoded": False,
    }


def test_raw_stream_buffered_uses_its_content_type(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.raw", STREAM_INVOKE_MODE="buffered")
    assert got.json() == {
        "statusCode": 200,
        "headers": {"Content-Type": "text/plain"},
        "body": "onetwo",
        "isBase64Encoded": False,
    }


def test_binary_body_is_base64(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.binary", STREAM_INVOKE_MODE="BUFFERED")
    result = got.json()
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == bytes(range(256))


def test_empty_body_keeps_status(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.empty_http", STREAM_INVOKE_MODE="BUFFERED")
    assert got.json() == {
        "statusCode": 204,
        "headers": {"X-Empty": "1"},
        "body": "",
        "isBase64Encoded": False,
    }


def test_streaming_response_buffered(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.async_iterable", STREAM_INVOKE_MODE="BUFFERED")
    assert got.json() == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/x-ndjson"},
        "cookies": ["s=1"],
        "body": "0\n1\n2\n",
        "isBase64Encoded": False,
    }


def test_error_after_writes_goes_to_error_endpoint_when_buffered(layer: LayerHarness) -> None:
    request_id, got = invoke(layer, "streaming.fail_after", STREAM_INVOKE_MODE="BUFFERED")
    assert got.kind == "error"
    assert got.json()["errorType"] == "RuntimeError"
    assert got.json()["requestId"] == request_id


def test_undecorated_handler_returns_json(layer: LayerHarness) -> None:
    request_id, got = invoke(layer, "buffered.echo", {"a": "é"})
    assert_plain_post(got)
    assert got.header("Content-Type") == "application/json"
    assert got.json() == {"echo": {"a": "é"}, "request": request_id}


def test_undecorated_handler_in_streaming_mode_is_unchanged(layer: LayerHarness) -> None:
    _, got = invoke(layer, "buffered.echo", {"x": 1}, STREAM_INVOKE_MODE="RESPONSE_STREAM")
    assert_plain_post(got)
    assert got.json()["echo"] == {"x": 1}


def test_undecorated_bytes_result(layer: LayerHarness) -> None:
    _, got = invoke(layer, "buffered.as_bytes")
    assert got.body == b"\x00raw"
    assert got.header("Content-Type") == "application/unknown"


def test_async_undecorated_handler(layer: LayerHarness) -> None:
    _, got = invoke(layer, "buffered.coroutine")
    assert got.json() == {"async": True}


def test_undecorated_error(layer: LayerHarness) -> None:
    request_id, got = invoke(layer, "buffered.fail")
    assert got.kind == "error"
    document = got.json()
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorType"] == "KeyError"
    assert document["errorMessage"] == "'missing'"
    assert document["requestId"] == request_id
    assert document["stackTrace"][0].startswith('  File "')
    assert "buffered.py" in document["stackTrace"][0]


def test_unserialisable_result_is_marshal_error(layer: LayerHarness) -> None:
    _, got = invoke(layer, "buffered.unserialisable")
    assert got.json()["errorType"] == "Runtime.MarshalError"
    assert got.json()["errorMessage"].startswith("Unable to marshal response: ")


def test_malformed_event_is_unmarshal_error_and_runtime_goes_on(layer: LayerHarness) -> None:
    _, got = invoke(layer, "buffered.echo", raw=b"{not json")
    assert got.kind == "error"
    assert got.json()["errorType"] == "Runtime.UnmarshalError"
    assert got.header("Lambda-Runtime-Function-Error-Type") is None  # as the stock client
    assert got.json()["errorMessage"].startswith("Unable to unmarshal input: ")
    following = layer.api.push({"ok": 1})
    assert layer.api.result(following).json()["echo"] == {"ok": 1}


def test_rejected_response_is_survived(layer: LayerHarness) -> None:
    layer.api.status_for["response"] = 413
    layer.start("buffered.echo")
    first = layer.api.push({"n": 1})
    layer.api.result(first)
    layer.api.status_for.clear()
    second = layer.api.push({"n": 2})
    assert layer.api.result(second).json()["echo"] == {"n": 2}
    # Lambda ended the refused invocation itself: nothing more is posted for it (the next
    # request was already out behind the result)
    assert [r.kind for r in layer.api.received if r.request_id == first] == ["response"]


REST_EVENT = {
    "resource": "/x",
    "path": "/x",
    "httpMethod": "GET",
    "headers": None,
    "multiValueHeaders": None,
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {"stage": "prod", "httpMethod": "GET", "resourcePath": "/x"},
    "body": None,
    "isBase64Encoded": False,
}


@pytest.mark.parametrize("env", [{"STREAM_INVOKE_MODE": "BUFFERED"}, {"AWS_SAM_LOCAL": "true"}])
def test_rest_event_gets_a_rest_proxy_result(layer: LayerHarness, env: dict[str, str]) -> None:
    """A 1.0 event (API Gateway REST, BUFFERED integration) gets the five proxy fields only:
    API Gateway answers 502 for any other (``cookies`` included), so cookies are Set-Cookie."""
    _, got = invoke(layer, "streaming.http", REST_EVENT, **env)
    assert got.kind == "response"
    assert_plain_post(got)
    assert got.json() == {
        "statusCode": 201,
        "headers": {"X-Test": "yes", "Content-Type": "text/plain; charset=utf-8"},
        "multiValueHeaders": {"Set-Cookie": ["a=1; Path=/"]},
        "body": "hello world",
        "isBase64Encoded": False,
    }

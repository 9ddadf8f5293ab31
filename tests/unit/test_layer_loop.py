"""Every ending of an invocation, driven through the real loop over an in-memory Runtime API.

The loop, pipeline, streams and chunked framing are the layer's own; only the connection is
``MemoryRuntimeApi``, which parses what they send with h11 and answers from a script. The same
endings run through real processes and sockets in tests/integration/test_layer_*.py.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lambda_streaming import HttpResponseStream, StreamingResponse, streamify_response
from lambda_streaming.runtime.logs import Logs
from lambda_streaming.runtime.loop import Runtime
from lambda_streaming.runtime.protocol import RuntimeApi
from tests.support.memory_runtime_api import Event, MemoryRuntimeApi, NoMoreEvents

HTTP_RESULT = "lambda_streaming.http.buffered:buffered_result"


def serve(server: MemoryRuntimeApi, handler: Any, buffered: str = "", multi: bool = False) -> None:
    """Run the runtime on ``handler`` until the script has no event left."""
    api = RuntimeApi(server, "127.0.0.1:9001")
    runtime = Runtime(api, handler, Logs({}), buffered, multi)
    with pytest.raises(NoMoreEvents):
        runtime.serve_forever(*api.next())


def plain(event: Any, context: Any) -> Any:
    return {"echo": event}


def test_a_result_carries_the_next_request_in_its_own_write() -> None:
    server = MemoryRuntimeApi([{"n": 1}, {"n": 2}])
    serve(server, plain)
    assert server.kinds() == ["next", "response", "next", "response", "next"]
    first, following = server.requests[1], server.requests[2]
    assert first.json() == {"echo": {"n": 1}}
    assert first.writes == following.writes  # one write: the result, then next behind it
    assert server.connections == 1


def test_a_stream_ends_with_next_in_the_same_write() -> None:
    @streamify_response
    def handler(event: Any, stream: Any, context: Any) -> None:
        stream = HttpResponseStream.from_(stream, {"statusCode": 201})
        stream.write("a")
        stream.write(b"b")

    server = MemoryRuntimeApi([{}])
    serve(server, handler)
    response, following = server.requests[1], server.requests[2]
    assert response.headers["lambda-runtime-function-response-mode"] == "streaming"
    assert response.body == b'{"statusCode":201}' + b"\0" * 8 + b"ab"
    assert response.trailers == {}
    assert response.writes[-1] == following.writes[0]
    assert len(response.writes) == 3  # head with the first chunk, one chunk, the end with next


def test_work_after_end_comes_before_next() -> None:
    """Lambda may freeze the environment once next is sent: the handler's code goes first."""
    server = MemoryRuntimeApi([{}, {}])
    seen: list[list[str]] = []

    @streamify_response
    def handler(event: Any, stream: Any, context: Any) -> None:
        stream.end("done")
        seen.append(server.kinds())  # after end(): the result is out, no next yet

    serve(server, handler)
    assert seen[0] == ["next", "response"]
    assert server.kinds() == ["next", "response", "next", "response", "next"]
    response, following = server.requests[1], server.requests[2]
    assert response.body == b"done"
    assert following.writes[0] > response.writes[-1]  # next went out in a write of its own


def test_a_refused_result_is_logged_and_the_runtime_serves_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = MemoryRuntimeApi([Event({}, "refused"), Event({}, "fine")])
    server.on_reply = lambda request: (
        (400, {}, b'{"errorType":"InvalidStateTransition"}')
        if request.target.endswith("/refused/response")
        else None
    )
    serve(server, plain)
    assert server.kinds() == ["next", "response", "next", "response", "next"]
    assert server.connections == 1  # the refusal did not cost the connection
    assert "answered 400" in capsys.readouterr().out


def test_a_failure_before_the_first_byte_is_the_invocations_error() -> None:
    def handler(event: Any, context: Any) -> None:
        raise ValueError("before anything was sent")

    server = MemoryRuntimeApi([Event({}, "r1", invocation_id="inv-1")])
    serve(server, handler)
    error, following = server.find("error")[0], server.requests[2]
    assert error.json()["errorType"] == "ValueError"
    assert "lambda-runtime-function-xray-error-cause" in error.headers
    assert error.headers["lambda-runtime-invocation-id"] == "inv-1"
    assert error.writes == following.writes


def test_a_failure_after_the_first_byte_goes_in_the_trailers() -> None:
    @streamify_response
    def handler(event: Any, stream: Any, context: Any) -> None:
        stream.write("partial")
        raise KeyError("mid-stream")

    server = MemoryRuntimeApi([{}])
    serve(server, handler)
    response = server.find("response")[0]
    assert response.body == b"partial"
    assert response.trailers["lambda-runtime-function-error-type"] == "KeyError"
    document = json.loads(base64.b64decode(response.trailers["lambda-runtime-function-error-body"]))
    assert document["errorMessage"] == "'mid-stream'"
    assert response.writes[-1] == server.requests[2].writes[0]  # the trailers carry next


def test_a_failure_after_the_response_ended_is_only_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @streamify_response
    def handler(event: Any, stream: Any, context: Any) -> None:
        stream.end("complete")
        raise RuntimeError("after end()")

    server = MemoryRuntimeApi([{}, {}])
    serve(server, handler)
    assert server.kinds() == ["next", "response", "next", "response", "next"]
    assert not server.find("error") and not server.find("response")[0].trailers
    assert "after end()" in capsys.readouterr().out


def test_a_connection_closed_before_the_pipelined_next_is_answered_asks_again() -> None:
    server = MemoryRuntimeApi([{"n": 1}, {"n": 2}])
    server.on_reply = lambda request: None
    server.close_before_next_reply = False

    def handler(event: Any, context: Any) -> Any:
        server.close_before_next_reply = event == {"n": 1}  # the next behind this result
        return event

    serve(server, handler)
    assert server.kinds() == ["next", "response", "next", "next", "response", "next"]
    assert server.connections == 2
    assert [r.json() for r in server.find("response")] == [{"n": 1}, {"n": 2}]


def test_refused_error_trailers_keep_the_runtime_serving(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @streamify_response
    def handler(event: Any, stream: Any, context: Any) -> None:
        stream.write("x")
        raise ValueError("boom")

    server = MemoryRuntimeApi([Event({}, "bad"), Event({}, "good")])
    server.on_reply = lambda request: (
        (413, {}, b"too large") if request.target.endswith("/bad/response") else None
    )
    serve(server, handler)
    assert server.kinds() == ["next", "response", "next", "response", "next"]
    assert "answered 413" in capsys.readouterr().out


def test_a_managed_instances_worker_only_warns_on_a_refused_result(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = MemoryRuntimeApi([{}, {}])
    server.on_reply = lambda request: (403, {}, b"no") if request.kind == "response" else None
    serve(server, plain, multi=True)
    assert server.kinds() == ["next", "response", "next", "response", "next"]
    assert "This won't kill the Runtime loop" in caplog.text


def test_buffered_mode_shapes_the_collected_stream_for_its_front() -> None:
    @streamify_response
    def handler(event: Any, stream: Any, context: Any) -> None:
        stream = HttpResponseStream.from_(stream, {"statusCode": 202, "cookies": ["a=1"]})
        stream.write("one ")
        stream.write("two")

    rest_event = {"httpMethod": "GET", "path": "/", "requestContext": {}}
    server = MemoryRuntimeApi([rest_event])
    serve(server, handler, buffered=HTTP_RESULT)
    response = server.find("response")[0]
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "statusCode": 202,
        "headers": {},
        "multiValueHeaders": {"Set-Cookie": ["a=1"]},
        "body": "one two",
        "isBase64Encoded": False,
    }
    assert response.writes == server.requests[2].writes  # posted whole when the handler returned


def test_writing_and_returning_a_streaming_response_is_refused() -> None:
    @streamify_response
    def handler(event: Any, stream: Any, context: Any) -> StreamingResponse:
        stream.write("x")
        return StreamingResponse("y")

    server = MemoryRuntimeApi([{}])
    serve(server, handler)
    response = server.find("response")[0]
    assert response.body == b"x"
    assert response.trailers["lambda-runtime-function-error-type"] == "StreamStateError"

"""The streamed response path, through the real stream-bootstrap process and real sockets."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

from tests.support.layer_process import LayerHarness
from tests.support.layer_runtime_api import chunk

HTTP_CT = "application/vnd.awslambda.http-integration-response"
NULS = b"\x00" * 8
TRACE = "Root=1-5e1b4151-5ac6c58f5b5dbd7b1c7a6f0a;Parent=1;Sampled=1"


def invoke(layer: LayerHarness, handler: str, event: object = None, **env: str):
    layer.start(handler, **env)
    request_id = layer.api.push(event if event is not None else {})
    return request_id, layer.api.result(request_id)


def test_next_goes_out_behind_every_result(layer: LayerHarness) -> None:
    """HTTP/1.1 pipelining: after a streamed body, an ``/error`` or error trailers, the runtime's
    ``next`` arrives on the same connection before that result was answered (one round trip per
    invocation, not two), and reading the 202 first still serves the next event."""
    layer.start("streaming.as_asked")
    events = [{"n": 1}, {"n": 2, "fail": "before"}, {"n": 3, "fail": "after"}, {"n": 4}]
    results = [layer.api.result(layer.api.push(event)) for event in events]
    assert [r.kind for r in results] == ["response", "error", "response", "response"]
    assert results[2].trailers and results[3].body.startswith(b"4:")
    nexts = layer.api.wait_count("next", len(results) + 1)
    for result, following in zip(results, nexts[1:], strict=True):
        assert following.connection == result.connection
        assert following.started < result.answered, result.kind


def test_work_after_an_early_end_comes_before_next(layer: LayerHarness) -> None:
    """Lambda may freeze the environment once ``next`` arrives: after a handler's own
    ``end()``, ``next`` waits for the handler to return."""
    layer.start("streaming.ends_then_works")
    result = layer.api.result(layer.api.push({"work": 0.3}))
    assert result.body == b"done"
    following = layer.api.wait_count("next", 2)[1]
    assert following.started - result.ended >= 0.25


def test_failure_after_an_early_end_is_logged_and_the_runtime_serves_on(
    layer: LayerHarness,
) -> None:
    process = layer.start("streaming.ends_then_raises")
    first = layer.api.push({})
    assert layer.api.result(first).body == b"whole"
    second = layer.api.push({})
    assert layer.api.result(second).body == b"whole"
    assert [r.kind for r in layer.api.received if r.request_id == first] == ["response"]
    layer.api.wait_count("next", 3)  # sent once the second failure was logged
    stdout, _ = layer.stop(process)
    assert stdout.count("[ERROR] ValueError: failed after the response was complete") == 2


def test_refused_early_ended_stream_is_logged_and_the_runtime_serves_on(
    layer: LayerHarness,
) -> None:
    layer.api.status_sequence["response"] = [413]
    process = layer.start("streaming.ends_then_works")
    layer.api.result(layer.api.push({"work": 0}))
    following = layer.api.push({"work": 0})
    assert layer.api.result(following).body == b"done"
    stdout, _ = layer.stop(process)
    assert "RuntimeApiError" in stdout and "answered 413" in stdout


def test_refused_error_trailers_keep_the_pipelined_next(layer: LayerHarness) -> None:
    """Lambda refusing a stream that ended with error trailers leaves the next request the
    runtime sent behind it: the connection stays, and that next is the one answered."""
    layer.api.status_sequence["response"] = [400]
    process = layer.start("streaming.as_asked")
    first = layer.api.result(layer.api.push({"n": 1, "fail": "after"}))
    assert first.trailers
    second = layer.api.result(layer.api.push({"n": 2}))
    assert second.body.startswith(b"2:")
    assert second.connection == first.connection
    stdout, _ = layer.stop(process)
    assert "answered 400" in stdout


def test_a_thread_ending_the_stream_while_the_handler_fails_is_waited_for(
    layer: LayerHarness,
) -> None:
    """The loop looks at the stream only once no thread is inside a write: the thread's whole
    body goes out, nothing else is sent on the connection meanwhile, the runtime serves on."""
    size = 8 << 20
    layer.api.reading.clear()  # a slow reader: the thread's last write blocks
    process = layer.start("streaming.thread_ends_while_failing")
    first = layer.api.push({"size": size})
    layer.api.first_byte(first)
    time.sleep(0.5)
    layer.api.reading.set()
    result = layer.api.result(first)
    assert result.kind == "response" and len(result.body) == size and not result.trailers
    second = layer.api.push({"size": 3})
    assert layer.api.result(second).body == b"xxx"
    assert layer.api.garbage == []
    stdout, _ = layer.stop(process)
    assert "[ERROR] ValueError: failed while a thread ended the stream" in stdout


def test_next_lost_with_a_closed_connection_is_asked_again(layer: LayerHarness) -> None:
    """A Runtime API that closes the connection after a result leaves the pipelined ``next``
    unanswered: the runtime asks again on a new connection instead of giving up."""
    layer.api.close_after.add("response")
    layer.start("streaming.as_asked")
    first = layer.api.result(layer.api.push({"n": 1}))
    second = layer.api.result(layer.api.push({"n": 2}))
    assert second.body.startswith(b"2:")
    assert second.connection != first.connection
    # the server never read the pipelined next on the first connection; the runtime's retry
    # is the next request it saw
    asked = [r.connection for r in layer.api.received if r.kind == "next"]
    assert asked[:2] == [first.connection, second.connection]


def test_http_stream_exact_bytes(layer: LayerHarness) -> None:
    request_id, got = invoke(layer, "streaming.http")
    prelude = (
        b'{"statusCode":201,"headers":{"X-Test":"yes","Content-Type":"text/plain; charset=utf-8"},'
        b'"cookies":["a=1; Path=/"]}'
    )
    host = layer.api.address.encode()
    assert got.raw == (
        b"POST /2018-06-01/runtime/invocation/" + request_id.encode() + b"/response HTTP/1.1\r\n"
        b"Host: " + host + b"\r\n"
        b"User-Agent: lambda-streaming/" + got.header("User-Agent").split("/")[1].encode() + b"\r\n"
        b"Lambda-Runtime-Invocation-Id: " + layer.api.invocation_ids[request_id].encode() + b"\r\n"
        b"Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
        b"Content-Type: "
        + HTTP_CT.encode()
        + b"\r\n\r\n"
        + chunk(prelude)
        + chunk(NULS)
        + chunk(b"hello ")
        + chunk(b"world")
        + b"0\r\n\r\n"
    )
    assert got.trailers == []


def test_raw_stream_keeps_its_content_type_and_chunks(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.raw")
    assert got.header("Content-Type") == "text/plain"
    assert got.raw.endswith(b"\r\n\r\n" + chunk(b"one") + chunk(b"two") + b"0\r\n\r\n")


def test_empty_http_body_still_sends_the_prelude(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.empty_http")
    assert got.header("Content-Type") == HTTP_CT
    prelude = b'{"statusCode":204,"headers":{"X-Empty":"1"}}'
    # a response known whole at its end: one chunk, and the end in the same write
    assert got.raw.endswith(b"\r\n\r\n" + chunk(prelude + NULS) + b"0\r\n\r\n")


def test_error_before_first_byte_posts_to_error(layer: LayerHarness) -> None:
    request_id, got = invoke(layer, "streaming.fail_before")
    assert got.kind == "error"
    # as the stock client: the type is in the body and the X-Ray cause, not in a header
    assert got.header("Lambda-Runtime-Function-Error-Type") is None
    assert got.header("Lambda-Runtime-Invocation-Id") == layer.api.invocation_ids[request_id]
    cause = json.loads(got.header("Lambda-Runtime-Function-XRay-Error-Cause") or "")
    assert cause["exceptions"][0]["type"] == "ValueError"
    assert got.header("Content-Type") == "application/json"
    document = got.json()
    assert document["errorType"] == "ValueError"
    assert document["errorMessage"] == "nothing written yet"
    assert document["requestId"] == request_id
    assert len(document["stackTrace"]) == 1
    assert (
        'in fail_before\n    raise ValueError("nothing written yet")' in document["stackTrace"][0]
    )
    # no streamed response was started for this invocation
    assert [r.kind for r in layer.api.received if r.request_id == request_id] == ["error"]


def test_error_after_first_byte_ends_stream_with_trailers(layer: LayerHarness) -> None:
    request_id, got = invoke(layer, "streaming.fail_after")
    assert got.kind == "response"
    assert got.body == b"partial"
    assert got.raw.endswith(
        chunk(b"partial")
        + b"0\r\nLambda-Runtime-Function-Error-Type: RuntimeError\r\n"
        + b"Lambda-Runtime-Function-Error-Body: "
        + dict(got.trailers)["Lambda-Runtime-Function-Error-Body"].encode()
        + b"\r\n\r\n"
    )
    trailers = dict(got.trailers)
    assert trailers["Lambda-Runtime-Function-Error-Type"] == "RuntimeError"
    document = json.loads(base64.b64decode(trailers["Lambda-Runtime-Function-Error-Body"]))
    assert document["errorType"] == "RuntimeError"
    assert document["errorMessage"] == "broke\r\nmid-stream"  # CR/LF survive, base64 keeps framing
    assert document["requestId"] == request_id
    assert "in fail_after" in document["stackTrace"][0]


def test_runtime_survives_errors_and_reuses_one_connection(layer: LayerHarness) -> None:
    layer.start("streaming.fail_after")
    ids = [layer.api.push({}) for _ in range(3)]
    results = [layer.api.result(i) for i in ids]
    assert all(
        dict(r.trailers)["Lambda-Runtime-Function-Error-Type"] == "RuntimeError" for r in results
    )
    assert {r.connection for r in layer.api.received} == {1}  # keep-alive: next, stream, next...
    assert [r.kind for r in layer.api.received[:6]] == ["next", "response"] * 3


def test_first_chunk_arrives_while_handler_still_runs(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.slow", {"sleep": 0.5})
    (first_at, first), *rest = got.data_events
    assert first == b"first"
    assert rest[-1][1] == b"second"
    assert got.ended - first_at > 0.3
    assert first_at - got.started < 0.2


def test_set_content_type_after_write_is_a_clear_error(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.late_content_type")
    assert got.body == b"x"
    trailers = dict(got.trailers)
    assert trailers["Lambda-Runtime-Function-Error-Type"] == "StreamStateError"
    document = json.loads(base64.b64decode(trailers["Lambda-Runtime-Function-Error-Body"]))
    assert "before the first write()" in document["errorMessage"]


def test_binary_body_is_sent_untouched(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.binary")
    assert got.body == b'{"statusCode":200}' + NULS + bytes(range(256))


def test_async_handler_streams(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.async_writer")
    assert [d for _, d in got.data_events] == [b"a", b"b"]
    assert got.raw.endswith(chunk(b"a") + chunk(b"b") + b"0\r\n\r\n")


def test_streaming_response_from_sync_iterable(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.iterable")
    prelude = (
        b'{"statusCode":202,"headers":{"Cache-Control":"no-cache",'
        b'"Content-Type":"text/event-stream; charset=utf-8"}}'
    )
    assert got.raw.endswith(
        b"\r\n\r\n"
        + chunk(prelude)
        + chunk(NULS)
        + chunk(b"data: 1\n\n")
        + chunk(b"data: 2\n\n")
        + b"0\r\n\r\n"
    )


def test_streaming_response_from_async_iterable_without_decorator(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.async_iterable")
    assert got.header("Content-Type") == HTTP_CT
    prelude = (
        b'{"statusCode":200,"headers":{"Content-Type":"application/x-ndjson"},"cookies":["s=1"]}'
    )
    assert got.body == prelude + NULS + b"0\n1\n2\n"
    assert [d for _, d in got.data_events][-3:] == [b"0\n", b"1\n", b"2\n"]


def test_async_handler_returning_streaming_response(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.async_returns")
    assert got.body == b'{"statusCode":200,"headers":{}}' + NULS + b"done"


def test_slow_reader_blocks_the_writer(layer: LayerHarness, tmp_path: Path) -> None:
    progress = tmp_path / "progress"
    count, piece = 384, 65536  # 24 MiB: more than loopback socket buffers hold
    layer.api.reading.clear()
    layer.start("streaming.big")
    request_id = layer.api.push({"piece": piece, "count": count, "progress": str(progress)})
    time.sleep(0.6)
    written_while_paused = int(progress.read_text() or 0) if progress.exists() else 0
    # the stream started, then write() blocked instead of buffering everything in memory
    assert 0 < written_while_paused < count
    layer.api.reading.set()
    got = layer.api.result(request_id, timeout=20)
    assert len(got.body) == count * piece
    assert int(progress.read_text()) == count
    assert not got.trailers


def test_context_and_trace_id_per_invocation(layer: LayerHarness) -> None:
    layer.start("streaming.env_and_context")
    deadline = int(time.time() * 1000) + 60_000
    first = layer.api.push(
        {},
        deadline_ms=deadline,
        headers={
            "Lambda-Runtime-Trace-Id": TRACE,
            "Lambda-Runtime-Client-Context": json.dumps({"custom": {"k": "v"}}),
            "Lambda-Runtime-Cognito-Identity": json.dumps({"cognitoIdentityId": "cid"}),
        },
    )
    second = layer.api.push({})
    one = json.loads(layer.api.result(first).body)
    two = json.loads(layer.api.result(second).body)
    assert one["trace"] == TRACE
    assert two["trace"] is None  # not carried over to an invocation without one
    assert one["aws_request_id"] == first and two["aws_request_id"] == second
    assert one["function_name"] == "test-fn"
    assert one["function_version"] == "$LATEST"
    assert one["memory_limit_in_mb"] == "256"
    assert one["log_group_name"] == "/aws/lambda/test-fn"
    assert one["log_stream_name"] == "2024/01/01/[$LATEST]abcdef"
    assert one["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:test-fn"
    assert 50_000 < one["remaining"] <= 60_000
    assert one["client_custom"] == {"k": "v"}
    assert one["cognito_id"] == "cid"
    assert two["client_custom"] is None


def test_user_agent_names_the_runtime(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.raw")
    assert re.fullmatch(r"lambda-streaming/\d+\.\d+\.\d+", got.header("User-Agent") or "")


def test_threads_sharing_a_stream_send_one_prelude_and_whole_writes(layer: LayerHarness) -> None:
    _, got = invoke(layer, "streaming.threads")
    prelude, nuls, body = got.body.partition(NULS)
    assert (prelude, nuls) == (b'{"statusCode":200}', NULS)
    lines = body.decode().splitlines()
    expected = {f"t{n}-{i:03d}" + "." * (n * 97 % 300) for n in range(8) for i in range(200)}
    assert sorted(lines) == sorted(expected)
    for n in range(8):  # each thread's lines in its own order
        mine = [line for line in lines if line.startswith(f"t{n}-")]
        assert mine == sorted(mine)

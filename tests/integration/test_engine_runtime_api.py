"""The Runtime API server over real sockets: what a runtime sends and what it reads back."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest

from streamlab.emulator.invocation import BodyChunk, InvocationEnd, ResponseHead
from streamlab.emulator.runtime_api import RuntimeApiServer
from tests.support.engine_helpers import run

API = "/2018-06-01/runtime"
STREAM_HEADERS = (
    "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
    "Trailer: Lambda-Runtime-Function-Error-Type\r\nTrailer: Lambda-Runtime-Function-Error-Body\r\n"
    "Content-Type: text/plain\r\n"
)


def stream_head(request_id: str) -> bytes:
    """The head of a streamed response POST; its chunked body follows."""
    path = f"{API}/invocation/{request_id}/response"
    return f"POST {path} HTTP/1.1\r\nHost: x\r\n{STREAM_HEADERS}\r\n".encode()


class RawRuntime:
    """The runtime's side of one keep-alive connection, written byte by byte."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, server: RuntimeApiServer) -> RawRuntime:
        return cls(*await asyncio.open_connection(server.host, server.port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def request(self, method: str, path: str, body: bytes = b"", headers: str = "") -> None:
        await self.send(
            f"{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    async def response(self) -> tuple[bytes, dict[str, str], bytes]:
        status = await self.reader.readline()
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) != b"\r\n":
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers["content-length"]))
        return status.rstrip(), headers, body

    async def next(self) -> tuple[str, dict[str, str], bytes]:
        await self.request("GET", f"{API}/invocation/next")
        _, headers, body = await self.response()
        return headers["lambda-runtime-aws-request-id"], headers, body

    def close(self) -> None:
        self.writer.close()


async def started() -> RuntimeApiServer:
    server = RuntimeApiServer(function_name="Fn", region="eu-west-1", account_id="123456789012")
    await server.start()
    return server


def test_next_waits_for_an_event_and_carries_the_lambda_headers() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        await runtime.request("GET", f"{API}/invocation/next")
        await asyncio.sleep(0.2)
        assert not runtime.reader._buffer  # long-poll: nothing answered without an event
        invocation = server.submit(b'{"n": 1}', timeout_s=2, client_context='{"custom": {"a": 1}}')
        status, headers, body = await asyncio.wait_for(runtime.response(), 2)
        assert status == b"HTTP/1.1 200 OK"
        assert body == b'{"n": 1}'
        assert headers["lambda-runtime-aws-request-id"] == invocation.request_id
        deadline = int(headers["lambda-runtime-deadline-ms"])
        assert 1500 < deadline - time.time() * 1000 <= 2000
        assert headers["lambda-runtime-invoked-function-arn"] == (
            "arn:aws:lambda:eu-west-1:123456789012:function:Fn"
        )
        assert headers["lambda-runtime-trace-id"].startswith("Root=1-")
        assert headers["lambda-runtime-client-context"] == '{"custom": {"a": 1}}'
        assert "lambda-runtime-cognito-identity" not in headers
        assert server.first_poll_at is not None and invocation.dispatched_at is not None
        runtime.close()
        await server.stop()

    run(scenario)


def test_buffered_response_is_accepted_and_the_connection_kept_alive() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        for n in range(2):
            invocation = server.submit(b"{}")
            request_id, _, _ = await runtime.next()
            await runtime.request(
                "POST",
                f"{API}/invocation/{request_id}/response",
                b'{"result": %d}' % n,
                "Content-Type: application/json\r\n",
            )
            status, _, body = await runtime.response()
            assert (status, body) == (b"HTTP/1.1 202 Accepted", b'{"status":"OK"}')
            events = [event async for event in invocation]
            assert events == [
                ResponseHead(streaming=False, content_type="application/json"),
                BodyChunk(b'{"result": %d}' % n),
                InvocationEnd(None),
            ]
        runtime.close()
        await server.stop()

    run(scenario)


def test_streamed_chunks_reach_the_consumer_before_the_stream_ends() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        invocation = server.submit(b"{}")
        request_id, _, _ = await runtime.next()
        await runtime.send(stream_head(request_id))
        assert await asyncio.wait_for(invocation.__anext__(), 1) == ResponseHead(True, "text/plain")
        for word in (b"first", b"second"):
            await runtime.send(b"%x\r\n%s\r\n" % (len(word), word))
            # Delivered while the runtime still holds the stream open.
            assert await asyncio.wait_for(invocation.__anext__(), 1) == BodyChunk(word)
        await runtime.send(b"0\r\n\r\n")
        assert await asyncio.wait_for(invocation.__anext__(), 1) == InvocationEnd(None)
        status, _, _ = await runtime.response()
        assert status == b"HTTP/1.1 202 Accepted"
        with pytest.raises(StopAsyncIteration):
            await invocation.__anext__()
        runtime.close()
        await server.stop()

    run(scenario)


def test_error_trailers_end_the_stream_with_the_runtimes_error() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        invocation = server.submit(b"{}")
        request_id, _, _ = await runtime.next()
        document = {"errorMessage": "went wrong\nline 2", "errorType": "KeyError", "stackTrace": []}
        encoded = base64.b64encode(json.dumps(document).encode())
        await runtime.send(
            stream_head(request_id)
            + b"4\r\npart\r\n0\r\nLambda-Runtime-Function-Error-Type: KeyError\r\n"
            + b"Lambda-Runtime-Function-Error-Body: "
            + encoded
            + b"\r\n\r\n"
        )
        status, _, _ = await runtime.response()
        assert status == b"HTTP/1.1 202 Accepted"
        events = [event async for event in invocation]
        assert events[:2] == [ResponseHead(True, "text/plain"), BodyChunk(b"part")]
        error = events[2].error
        assert error is not None
        assert (error.error_type, error.error_message) == ("KeyError", "went wrong\nline 2")
        assert json.loads(error.payload) == document
        runtime.close()
        await server.stop()

    run(scenario)


def test_unknown_response_mode_is_rejected_and_the_invocation_stays_open() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        invocation = server.submit(b"{}")
        request_id, _, _ = await runtime.next()
        path = f"{API}/invocation/{request_id}/response"
        await runtime.request(
            "POST", path, b"x", "Lambda-Runtime-Function-Response-Mode: stream\r\n"
        )
        status, _, body = await runtime.response()
        assert status == b"HTTP/1.1 400 Bad Request"
        assert json.loads(body)["errorType"] == "InvalidFunctionResponseMode"
        assert not invocation.ended
        await runtime.request("POST", path, b"fine")
        assert (await runtime.response())[0] == b"HTTP/1.1 202 Accepted"
        assert [event async for event in invocation][1] == BodyChunk(b"fine")
        runtime.close()
        await server.stop()

    run(scenario)


def test_error_post_and_unknown_request_ids() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        invocation = server.submit(b"{}")
        request_id, _, _ = await runtime.next()
        document = json.dumps({"errorMessage": "bad input", "errorType": "ValueError"}).encode()
        await runtime.request("POST", f"{API}/invocation/{request_id}/error", document)
        assert (await runtime.response())[0] == b"HTTP/1.1 202 Accepted"
        events = [event async for event in invocation]
        assert len(events) == 1 and events[0].error is not None
        assert (events[0].error.error_type, events[0].error.payload) == ("ValueError", document)
        # The invocation is over: a late answer for it, or for an id never issued, is refused.
        for stale in (request_id, "no-such-id"):
            await runtime.request("POST", f"{API}/invocation/{stale}/response", b"late")
            status, _, body = await runtime.response()
            assert status == b"HTTP/1.1 400 Bad Request"
            assert json.loads(body)["errorType"] == "InvalidRequestID"
        runtime.close()
        await server.stop()

    run(scenario)


def test_init_error_fails_the_waiting_invocation_with_the_runtimes_type() -> None:
    async def scenario() -> None:
        server = await started()
        invocation = server.submit(b"{}")
        runtime = await RawRuntime.connect(server)
        document = {"errorMessage": "Unable to import module 'app'", "errorType": "Whatever"}
        await runtime.request(
            "POST",
            f"{API}/init/error",
            json.dumps(document).encode(),
            "Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError\r\n",
        )
        assert (await runtime.response())[0] == b"HTTP/1.1 202 Accepted"
        events = [event async for event in invocation]
        assert events[0].error is not None
        assert events[0].error.error_type == "Runtime.ImportModuleError"
        assert events[0].error.error_message == "Unable to import module 'app'"
        assert (await server.wait_init_failed()).error_type == "Runtime.ImportModuleError"
        runtime.close()
        await server.stop()

    run(scenario)


def test_a_stream_cut_by_the_runtime_is_reported_as_truncated() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        invocation = server.submit(b"{}")
        request_id, _, _ = await runtime.next()
        await runtime.send(stream_head(request_id) + b"3\r\nabc\r\n")
        runtime.close()
        events = [event async for event in invocation]
        assert events[1] == BodyChunk(b"abc")
        assert events[-1].error is not None
        assert events[-1].error.error_type == "Runtime.TruncatedResponse"
        await server.stop()

    run(scenario)


def test_a_detached_consumer_does_not_stall_the_runtime() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        invocation = server.submit(b"{}")
        request_id, _, _ = await runtime.next()
        await runtime.send(stream_head(request_id))
        invocation.detach()  # nobody reads from here on
        block = b"x" * 65536
        for _ in range(128):  # 8 MiB: past the point where a reader's backlog pauses the socket
            await asyncio.wait_for(runtime.send(b"%x\r\n%s\r\n" % (len(block), block)), 2)
        await runtime.send(b"0\r\n\r\n")
        assert (await asyncio.wait_for(runtime.response(), 2))[0] == b"HTTP/1.1 202 Accepted"
        await asyncio.wait_for(invocation.wait_ended(), 1)
        assert invocation.error is None
        runtime.close()
        await server.stop()

    run(scenario)


def test_expect_100_continue_is_answered() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        invocation = server.submit(b"{}")
        request_id, _, _ = await runtime.next()
        await runtime.send(
            f"POST {API}/invocation/{request_id}/response HTTP/1.1\r\nHost: x\r\n"
            "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n".encode()
        )
        assert await asyncio.wait_for(runtime.reader.readline(), 1) == b"HTTP/1.1 100 Continue\r\n"
        await runtime.reader.readline()
        await runtime.send(b"ok")
        assert (await runtime.response())[0] == b"HTTP/1.1 202 Accepted"
        assert [event async for event in invocation][1] == BodyChunk(b"ok")
        runtime.close()
        await server.stop()

    run(scenario)

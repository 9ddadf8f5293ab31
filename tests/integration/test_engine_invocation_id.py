"""The emulator's Runtime API sends ``Lambda-Runtime-Invocation-Id`` and checks it comes back.

Lambda uses it to catch a result posted for the wrong invocation ("cross-wiring"); a result
without it is accepted, as from runtime clients that predate it.
"""

from __future__ import annotations

import json
import re

from streamlab.emulator.invocation import BodyChunk, InvocationEnd, ResponseHead
from tests.integration.test_engine_runtime_api import API, RawRuntime, started, stream_head
from tests.support.engine_helpers import run


def test_each_event_carries_its_own_invocation_id() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        seen = []
        for _ in range(2):
            invocation = server.submit(b"{}")
            _, headers, _ = await runtime.next()
            assert headers["lambda-runtime-invocation-id"] == invocation.invocation_id
            assert re.fullmatch(r"[0-9a-f]{32}", invocation.invocation_id)
            seen.append(invocation.invocation_id)
            await runtime.request(
                "POST", f"{API}/invocation/{invocation.request_id}/response", b"1"
            )
            assert (await runtime.response())[0] == b"HTTP/1.1 202 Accepted"
        assert seen[0] != seen[1]
        runtime.close()
        await server.stop()

    run(scenario)


def test_a_result_with_another_invocations_id_is_refused() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        invocation = server.submit(b"{}")
        request_id, _, _ = await runtime.next()
        for action in ("response", "error"):
            await runtime.request(
                "POST",
                f"{API}/invocation/{request_id}/{action}",
                b"{}",
                "Lambda-Runtime-Invocation-Id: not-this-one\r\n",
            )
            status, _, body = await runtime.response()
            assert status == b"HTTP/1.1 400 Bad Request"
            assert json.loads(body) == {
                "errorMessage": f"Cross-wiring detected: invocation ID mismatch on {action}",
                "errorType": "ValidationError",
            }
        assert not invocation.ended  # refused results do not end the invocation
        await runtime.send(
            stream_head(request_id).replace(
                b"\r\n\r\n",
                f"\r\nLambda-Runtime-Invocation-Id: {invocation.invocation_id}".encode()
                + b"\r\n\r\n",
            )
            + b"2\r\nok\r\n0\r\n\r\n"
        )
        assert (await runtime.response())[0] == b"HTTP/1.1 202 Accepted"
        events = [event async for event in invocation]
        assert events == [ResponseHead(True, "text/plain"), BodyChunk(b"ok"), InvocationEnd(None)]
        runtime.close()
        await server.stop()

    run(scenario)


def test_a_result_without_the_id_is_accepted() -> None:
    async def scenario() -> None:
        server = await started()
        runtime = await RawRuntime.connect(server)
        invocation = server.submit(b"{}")
        request_id, _, _ = await runtime.next()
        await runtime.request("POST", f"{API}/invocation/{request_id}/response", b'"done"')
        assert (await runtime.response())[0] == b"HTTP/1.1 202 Accepted"
        assert [e async for e in invocation][-1] == InvocationEnd(None)
        runtime.close()
        await server.stop()

    run(scenario)

"""The engine running the fixture app's functions as real processes.

Buffered functions run on AWS's stock client (awslambdaric); streaming ones on the fixture
layer's small streaming runtime (tests/fixtures/emulator_app/wrapper_layer), so these tests
do not depend on our own layer; tests/integration/test_engine_layer.py covers that one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from streamlab.emulator.invocation import ResponseHead, TooManyRequests, UnknownFunction
from tests.support.engine_helpers import (
    FIXTURE_APP,
    FIXTURE_TEMPLATE,
    alive,
    collect,
    engine_with_log,
    payload,
    run,
    wait_until,
)


def test_buffered_function_gets_lambdas_environment() -> None:
    async def scenario() -> None:
        engine, log = engine_with_log(parameter_overrides="StageName=test", region="eu-west-1")
        async with engine:
            context = (
                "eyJjdXN0b20iOiB7ImEiOiAxfX0="  # base64 {"custom": {"a": 1}}, as Invoke takes it
            )
            result = await collect(
                engine.invoke(
                    "EchoFunction", payload(a=1), client_context=context, request_id="req-1"
                )
            )
        assert result.head == ResponseHead(streaming=False, content_type="application/json")
        assert result.end.error is None
        answer = result.json()
        env = answer["env"]
        assert answer["event"] == {"a": 1}
        assert answer["request_id"] == "req-1"
        assert answer["client_context"] == {"a": 1}
        assert 1000 < answer["remaining_ms"] <= 2000  # Timeout: 2 (Globals)
        assert answer["deps"] == "from-deps-layer"  # the layer's python/ is importable
        assert answer["cwd"] == str(FIXTURE_APP / "src")
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == "EchoFunction"
        assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
        assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
        assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/EchoFunction"
        assert "/[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
        assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
        assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
        assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
        assert env["LAMBDA_TASK_ROOT"] == str(FIXTURE_APP / "src")
        assert env["_HANDLER"] == "echo.handler"
        assert env["TZ"] == ":UTC"
        assert env["AWS_SAM_LOCAL"] is None
        assert (env["GREETING"], env["STAGE"], env["OWN"]) == ("hello", "stage-test", "own-value")
        lines = log.getvalue().splitlines()
        assert "[EchoFunction] START RequestId: req-1 Version: $LATEST" in lines
        assert "[EchoFunction] echo got {'a': 1}" in lines
        report = next(line for line in lines if "REPORT RequestId: req-1" in line)
        assert "Memory Size: 256 MB" in report and "Init Duration:" in report
        end = lines.index("[EchoFunction] END RequestId: req-1")
        # What the function printed before it answered comes before END, as in CloudWatch.
        assert lines.index("[EchoFunction] echo got {'a': 1}") < end < lines.index(report)

    run(scenario)


def test_warm_environment_is_reused_and_cold_start_counted_once() -> None:
    async def scenario() -> None:
        engine, log = engine_with_log()
        async with engine:
            pids = []
            for n in range(3):
                pids.append((await collect(engine.invoke("SleepFunction", payload(n=n)))).json())
            assert len({answer["pid"] for answer in pids}) == 1
            assert engine.cold_starts["SleepFunction"] == 1
        reports = [line for line in log.getvalue().splitlines() if "REPORT" in line]
        assert len(reports) == 3
        assert ["Init Duration" in line for line in reports] == [True, False, False]

    run(scenario)


def test_handler_exception_is_a_function_error_and_the_environment_survives() -> None:
    async def scenario() -> None:
        engine, log = engine_with_log()
        async with engine:
            failed = await collect(engine.invoke("SleepFunction", payload(fail=True, tag="x")))
            ok = await collect(engine.invoke("SleepFunction", payload()))
        assert len(failed.events) == 1
        error = failed.end.error
        assert error is not None
        assert (error.error_type, error.error_message) == ("ValueError", "failed on purpose x")
        assert json.loads(error.payload)["stackTrace"]
        assert ok.end.error is None
        assert engine.cold_starts["SleepFunction"] == 1
        assert (
            "ERROR RequestId:" in log.getvalue()
            and "ValueError: failed on purpose x" in log.getvalue()
        )

    run(scenario)


def test_timeout_kills_the_environment_and_the_next_call_starts_fresh() -> None:
    async def scenario() -> None:
        engine, log = engine_with_log()
        async with engine:
            first = await collect(engine.invoke("SleepFunction", payload()))
            timed_out = await collect(engine.invoke("SleepFunction", payload(sleep=5)))
            assert 0.9 < timed_out.end_at < 2.5  # Timeout: 1
            error = timed_out.end.error
            assert error is not None and error.error_type == "Sandbox.Timedout"
            assert "Task timed out after 1.00 seconds" in error.error_message
            assert await wait_until(lambda: not alive(first.json()["pid"]))
            after = await collect(engine.invoke("SleepFunction", payload()))
            assert after.json()["pid"] != first.json()["pid"]
            assert engine.cold_starts["SleepFunction"] == 2
        assert "sleeper done" not in log.getvalue().split("sleeper start")[2]

    run(scenario)


def test_crash_is_a_runtime_exit_error() -> None:
    async def scenario() -> None:
        engine, _ = engine_with_log()
        async with engine:
            crashed = await collect(engine.invoke("SleepFunction", payload(crash=True)))
            error = crashed.end.error
            assert error is not None and error.error_type == "Runtime.ExitError"
            assert "Runtime exited with error: exit status 3" in error.error_message
            assert (await collect(engine.invoke("SleepFunction", payload()))).end.error is None
            assert engine.cold_starts["SleepFunction"] == 2

    run(scenario)


def test_init_error_reports_the_runtimes_error_type() -> None:
    async def scenario() -> None:
        engine, log = engine_with_log()
        async with engine:
            for _ in range(2):  # each call retries init in a new environment, as Lambda does
                result = await collect(engine.invoke("BrokenImportFunction", payload()))
                error = result.end.error
                assert error is not None and error.error_type == "Runtime.ImportModuleError"
                assert "not_a_module_anywhere" in error.error_message
            assert engine.cold_starts["BrokenImportFunction"] == 2
        assert "INIT_REPORT Init Duration" in log.getvalue()
        assert "Status: error\tError Type: Runtime.ImportModuleError" in log.getvalue()

    run(scenario)


def test_concurrent_calls_get_their_own_environments_up_to_the_limit() -> None:
    async def scenario() -> None:
        engine, _ = engine_with_log(max_concurrency=2)
        async with engine:
            streams = [engine.invoke("SleepFunction", payload(sleep=0.5, tag=n)) for n in (1, 2)]
            with pytest.raises(TooManyRequests):
                engine.invoke("EchoFunction", payload())  # the limit is shared across functions
            results = await asyncio.gather(*(collect(stream) for stream in streams))
            assert [r.json()["tag"] for r in results] == [1, 2]
            assert results[0].json()["pid"] != results[1].json()["pid"]
            assert engine.cold_starts["SleepFunction"] == 2
            # Both environments are warm now, and a call right after the end is accepted.
            again = await asyncio.gather(
                *(collect(engine.invoke("SleepFunction", payload(tag=n))) for n in (3, 4))
            )
            assert {r.json()["pid"] for r in again} == {r.json()["pid"] for r in results}
            assert engine.cold_starts["SleepFunction"] == 2
            with pytest.raises(UnknownFunction):
                engine.invoke("NoSuchFunction", payload())

    run(scenario)


def test_streamed_chunks_arrive_while_the_function_is_still_writing() -> None:
    async def scenario() -> None:
        engine, _ = engine_with_log()
        async with engine:
            result = await collect(engine.invoke("StreamFunction", payload(count=3, interval=0.25)))
        assert result.head == ResponseHead(streaming=True, content_type="text/plain")
        assert result.end.error is None
        times = [at for at, _ in result.chunks]
        assert [data.split(b" from")[0] for _, data in result.chunks] == [
            b"chunk 0",
            b"chunk 1",
            b"chunk 2",
        ]
        # One chunk per write, each about 0.25 s after the previous: not buffered to the end.
        assert times[1] - times[0] > 0.15 and times[2] - times[1] > 0.15
        assert result.end_at - times[0] > 0.5

    run(scenario)


def test_error_after_the_first_byte_arrives_through_the_trailers() -> None:
    async def scenario() -> None:
        engine, log = engine_with_log()
        async with engine:
            result = await collect(
                engine.invoke("StreamFunction", payload(count=2, interval=0.05, fail_after=True))
            )
            before = await collect(engine.invoke("StreamFailFirstFunction", payload()))
        assert len(result.chunks) == 2
        error = result.end.error
        assert error is not None
        assert (error.error_type, error.error_message) == ("RuntimeError", "broke mid-stream")
        assert "RuntimeError: broke mid-stream" in log.getvalue()
        # An error before anything was streamed is a plain /error: no head, no chunks.
        assert len(before.events) == 1 and before.end.error is not None
        assert before.end.error.error_type == "KeyError"

    run(scenario)


def test_a_stream_that_never_ends_is_cut_at_the_timeout() -> None:
    async def scenario() -> None:
        engine, _ = engine_with_log()
        async with engine:
            result = await collect(
                engine.invoke("StreamFunction", payload(count=1, interval=0, forever=True))
            )
        assert len(result.chunks) > 5
        assert 1.8 < result.end_at < 3.5  # Timeout: 2 (Globals)
        error = result.end.error
        assert error is not None and error.error_type == "Sandbox.Timedout"

    run(scenario)


def test_a_client_giving_up_mid_stream_does_not_stop_the_function() -> None:
    async def scenario() -> None:
        engine, log = engine_with_log()
        async with engine:
            stream = engine.invoke("StreamFunction", payload(count=4, interval=0.1))
            invocation = stream.invocation  # type: ignore[attr-defined]
            async for event in stream:
                if not isinstance(event, ResponseHead):
                    break  # the client disconnects after the first chunk
            del stream
            await asyncio.wait_for(invocation.wait_ended(), 3)
            assert invocation.error is None
            assert engine.in_flight == 0
            text = log.getvalue()
            assert "wrote chunk 3" in text
            assert f"END RequestId: {invocation.request_id}" in text
            # The environment finished cleanly and is warm for the next call.
            again = await collect(engine.invoke("StreamFunction", payload(count=1, interval=0)))
            assert again.end.error is None
            assert engine.cold_starts["StreamFunction"] == 1

    run(scenario)


def test_stop_kills_every_process_including_children() -> None:
    async def scenario() -> None:
        engine, _ = engine_with_log()
        await engine.start()
        spawned = (await collect(engine.invoke("SleepFunction", payload(spawn=True)))).json()
        busy = engine.invoke("StreamFunction", payload(count=1, interval=0, forever=True))
        await busy.__anext__()  # streaming now
        runtimes = [env.pid for name in engine.functions for env in engine.environments(name)]
        assert len(runtimes) == 2 and all(alive(pid) for pid in runtimes)  # type: ignore[arg-type]
        assert alive(spawned["child"])
        await engine.stop()
        pids = [*runtimes, spawned["child"]]
        assert await wait_until(lambda: not any(alive(pid) for pid in pids), 3)  # type: ignore[arg-type]
        rest = [event async for event in busy]
        assert rest[-1].error is not None and rest[-1].error.error_type == "Runtime.ExitError"

    run(scenario)


def test_no_orphans_when_the_emulator_is_killed_outright(tmp_path: Path) -> None:
    # The runtime is busy in its handler (sleeping 20 s), so it would not notice on its own
    # that its Runtime API is gone: only the parent-death signal ends it.
    script = textwrap.dedent(
        f"""
        import asyncio, io
        from streamlab.emulator.engine import Engine
        from streamlab.emulator.logs import LambdaLog

        async def main():
            engine = Engine.from_template({str(FIXTURE_TEMPLATE)!r}, log=LambdaLog(io.StringIO()))
            await engine.start()
            stream = engine.invoke("SleepFunction", b'{{"sleep": 20}}')
            await stream.invocation.wait_dispatched()
            environment = engine.environments("SleepFunction")[0]
            print(environment.pid, flush=True)
            await asyncio.sleep(60)

        asyncio.run(main())
        """
    )
    root = str(FIXTURE_APP.parent.parent.parent)
    emulator = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        cwd=root,
        env={**os.environ, "PYTHONPATH": root, "TMPDIR": str(tmp_path)},  # its /opt dirs
    )
    try:
        assert emulator.stdout is not None
        pid = int(emulator.stdout.readline())
        assert alive(pid)
        emulator.send_signal(signal.SIGKILL)  # no cleanup code of ours runs at all
        emulator.wait(5)
        assert asyncio.run(wait_until(lambda: not alive(pid), 0.5))
    finally:
        emulator.kill()
        emulator.wait()

"""One measurement: start a client against a fresh Runtime API server, time it, stop it.

The bench process is the Lambda side (server and caller); the client is the only other
process, so on a 2-core machine each gets a core and what differs between clients is the
client's own cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import IO, TypeVar

from streamlab.bench.clients import RuntimeClient, Workload
from streamlab.emulator.invocation import BodyChunk, InvocationEnd, ResponseHead
from streamlab.emulator.runtime_api import Invocation, RuntimeApiServer

START_TIMEOUT_S = 60.0
INVOKE_TIMEOUT_S = 120.0

T = TypeVar("T")


class ClientFailed(RuntimeError):
    """A client did not start or answered wrongly; the message carries its log's tail."""


@dataclass(frozen=True)
class Rate:
    """Completed invocations over a measured window, and the client's CPU time spent on them."""

    count: int
    seconds: float
    body_bytes: int
    client_cpu_s: float | None  # the client process's user+system time over the window
    server_cpu_s: float  # this process's (the Runtime API server's and caller's) over the window

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


@dataclass
class RunningClient:
    """A client process serving one workload, with its own Runtime API server."""

    client: RuntimeClient
    workload: Workload
    server: RuntimeApiServer
    process: asyncio.subprocess.Process
    log: IO[bytes]  # a temporary file the process writes to
    started_at: float
    waiting: Invocation | None = None  # the event queued before the client started

    @property
    def startup_s(self) -> float:
        assert self.server.first_poll_at is not None
        return self.server.first_poll_at - self.started_at

    def cpu_seconds(self) -> float | None:
        """User+system CPU of the client so far (Linux /proc; None elsewhere)."""
        try:
            with open(f"/proc/{self.process.pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, limit: int = 3000) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-limit:]

    def failure(self, message: str) -> ClientFailed:
        tail = self.log_tail().strip()
        detail = f"\n--- {self.client.label} output ---\n{tail}" if tail else ""
        return ClientFailed(f"{self.client.label}, {self.workload.value}: {message}{detail}")


@contextlib.asynccontextmanager
async def running(
    client: RuntimeClient, workload: Workload, waiting: bytes | None = None
) -> AsyncIterator[RunningClient]:
    """Starts ``client`` and yields once it polls ``next``; kills it and its children after.

    With ``waiting``, that event is queued before the client starts, as Lambda queues the
    event of a cold invocation; it is ``run.waiting``.
    """
    server = RuntimeApiServer(function_name="bench")
    await server.start()
    queued = server.submit(waiting, timeout_s=INVOKE_TIMEOUT_S) if waiting is not None else None
    try:
        with tempfile.TemporaryFile() as log:
            argv, env = client.command(workload, server.address)
            started_at = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                cwd=env["LAMBDA_TASK_ROOT"],  # as in Lambda, where it is /var/task
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
            run = RunningClient(client, workload, server, process, log, started_at, queued)
            try:
                await _wait_ready(run)
                yield run
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
    finally:
        await server.stop()


async def _wait_ready(run: RunningClient) -> None:
    ready = asyncio.ensure_future(run.server.wait_ready())
    exited = asyncio.ensure_future(run.process.wait())
    init_failed = asyncio.ensure_future(run.server.wait_init_failed())
    try:
        done, _ = await asyncio.wait(
            {ready, exited, init_failed},
            timeout=START_TIMEOUT_S,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        for task in (ready, exited, init_failed):
            task.cancel()
    if ready in done:
        return
    if init_failed in done:
        error = run.server.init_error
        detail = f"{error.error_type}: {error.error_message}" if error else "unknown"
        raise run.failure(f"init error {detail}")
    if exited in done:
        raise run.failure(f"exited with status {run.process.returncode} before its first next")
    raise run.failure(f"no next within {START_TIMEOUT_S:.0f} s")


async def invoke(run: RunningClient, invocation: Invocation) -> int:
    """Follows one invocation to its end; returns the body size. Wrong answers raise."""
    streamed: bool | None = None
    size = 0
    async for event in invocation:
        kind = type(event)
        if kind is BodyChunk:
            size += len(event.data)  # type: ignore[union-attr]
        elif kind is ResponseHead:
            streamed = event.streaming  # type: ignore[union-attr]
        elif kind is InvocationEnd and event.error is not None:  # type: ignore[union-attr]
            error = event.error  # type: ignore[union-attr]
            raise run.failure(f"invocation failed: {error.error_type}: {error.error_message}")
    wants_stream = run.workload is not Workload.NOOP_BUFFERED
    if streamed is not wants_stream:
        raise run.failure(f"answered {'streamed' if streamed else 'buffered'}, not as asked")
    return size


async def guarded(run: RunningClient, work: Awaitable[T], timeout_s: float) -> T:
    """Awaits ``work`` unless the client dies or it takes longer than ``timeout_s``.

    One watcher for a whole measurement, not one per invocation: it costs the server nothing
    while the clock runs.
    """
    task = asyncio.ensure_future(work)
    exited = asyncio.ensure_future(run.process.wait())
    try:
        done, _ = await asyncio.wait(
            {task, exited}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        exited.cancel()
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, ClientFailed):
        await task
    if exited in done:
        raise run.failure(f"exited with status {run.process.returncode} during an invocation")
    raise run.failure(f"no answer within {timeout_s:.0f} s")


async def rate(run: RunningClient, payload: bytes, *, warmup_s: float, seconds: float) -> Rate:
    """Invocations per second, one at a time as in one execution environment.

    One event is always queued ahead, so the client's ``next`` is answered at once and the
    server's reaction time stays out of the client's figure.
    """
    return await guarded(run, _rate(run, payload, warmup_s, seconds), warmup_s + seconds + 60)


async def _rate(run: RunningClient, payload: bytes, warmup_s: float, seconds: float) -> Rate:
    server = run.server
    ahead = server.submit(payload, timeout_s=INVOKE_TIMEOUT_S)
    count = size = 0
    cpu_before: float | None = None
    server_before = own_cpu_seconds()
    window_start = time.monotonic() + warmup_s
    window_end = window_start + seconds
    measuring = False
    now = time.monotonic()
    while now < window_end:
        current, ahead = ahead, server.submit(payload, timeout_s=INVOKE_TIMEOUT_S)
        body = await invoke(run, current)
        now = time.monotonic()
        if measuring:
            count += 1
            size += body
        elif now >= window_start:
            measuring = True
            window_start = now
            window_end = now + seconds
            cpu_before = run.cpu_seconds()
            server_before = own_cpu_seconds()
    return Rate(
        count,
        now - window_start,
        size,
        _cpu_since(run, cpu_before),
        own_cpu_seconds() - server_before,
    )


async def bulk(run: RunningClient, total: int, piece: int, *, count: int) -> Rate:
    """Streams ``count`` bodies of ``total`` bytes after one unmeasured warm-up."""
    return await guarded(run, _bulk(run, total, piece, count), INVOKE_TIMEOUT_S * (count + 1))


async def _bulk(run: RunningClient, total: int, piece: int, count: int) -> Rate:
    payload = json.dumps({"total": total, "piece": piece}).encode()
    await _expect_size(run, payload, total)
    cpu_before = run.cpu_seconds()
    server_before = own_cpu_seconds()
    started = time.monotonic()
    for _ in range(count):
        await _expect_size(run, payload, total)
    seconds = time.monotonic() - started
    return Rate(
        count,
        seconds,
        count * total,
        _cpu_since(run, cpu_before),
        own_cpu_seconds() - server_before,
    )


async def _expect_size(run: RunningClient, payload: bytes, total: int) -> None:
    size = await invoke(run, run.server.submit(payload, timeout_s=INVOKE_TIMEOUT_S))
    if size != total:
        raise run.failure(f"streamed {size} bytes instead of {total}")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_since(run: RunningClient, before: float | None) -> float | None:
    after = run.cpu_seconds()
    return after - before if after is not None and before is not None else None


async def startup(client: RuntimeClient) -> float:
    """Seconds from process start to the first ``next`` (the init phase, as Lambda bills it)."""
    async with running(client, Workload.NOOP_BUFFERED) as run:
        return run.startup_s


async def cold_start(client: RuntimeClient, payload: bytes) -> tuple[float, float]:
    """Seconds from process start to the first ``next``, and to the end of the first answer.

    The event waits before the client starts, as on a cold invocation, so the second figure
    is what the caller of a cold function waits for: init plus the first invocation, including
    whatever a runtime put off until there was an event.
    """
    async with running(client, Workload.NOOP_BUFFERED, waiting=payload) as run:
        assert run.waiting is not None
        await guarded(run, invoke(run, run.waiting), INVOKE_TIMEOUT_S)
        return run.startup_s, time.monotonic() - run.started_at

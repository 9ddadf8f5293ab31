"""One execution environment: a runtime process and the Runtime API it polls.

It is started as Lambda starts a managed runtime (``launch.py``) and enforces what Lambda
enforces around an invocation: the init and invocation timeouts, a crash
(``Runtime.ExitError``) and an init failure reported by the runtime.

An environment takes one invocation at a time, except on Lambda Managed Instances
(``CapacityProviderConfig``): there it takes up to ``PerExecutionEnvironmentMaxConcurrency``
at once (``AWS_LAMBDA_MAX_CONCURRENCY``; the Python runtime forks that many workers), its
workers log to a socket each, and a timed-out invocation fails without stopping the others:
Lambda does not kill its worker, so that worker stays busy until it answers (docs:
lambda-managed-instances-execution-environment, "Independent timeouts").
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import os
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from streamlab.emulator.invocation import FunctionSpec, function_error
from streamlab.emulator.invocation_queue import Invocation
from streamlab.emulator.launch import PARENT_DEATH_SIGNAL, EnvironmentStartError, Isolation, Launch
from streamlab.emulator.limits import LAMBDA_LIMITS, Limits
from streamlab.emulator.logs import LambdaLog, max_memory_mb
from streamlab.emulator.output import RuntimeOutput, WorkerLogs
from streamlab.emulator.runtime_api import RuntimeApiServer

INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase of an on-demand environment
# Managed Instances: "the maximum of 130 seconds or the configured function timeout".
MANAGED_INIT_TIMEOUT_S = 130.0


class ExecutionEnvironment:
    """A runtime process with its own Runtime API server, reused while warm."""

    def __init__(
        self,
        spec: FunctionSpec,
        opt_dir: Path,
        log: LambdaLog,
        *,
        region: str,
        base_environment: Mapping[str, str] | None = None,
        isolation: Isolation | None = None,
        limits: Limits = LAMBDA_LIMITS,
    ) -> None:
        self.spec = spec
        self.log = log
        self.server = RuntimeApiServer(function_name=spec.name, region=region, limits=limits)
        self.managed = spec.per_environment_concurrency is not None
        self.capacity = spec.per_environment_concurrency or 1
        self.worker_logs = WorkerLogs(self._emit) if self.managed else None
        self.launch = Launch(
            spec=spec,
            opt_dir=opt_dir,
            region=region,
            runtime_api=self.server.address,
            isolation=isolation,
            base_environment=os.environ if base_environment is None else base_environment,
        )
        self.process: asyncio.subprocess.Process | None = None
        self.output: RuntimeOutput | None = None
        self.invocations = 0
        self.taken = 0  # invocations given to it and not yet done with their worker
        self.dead = False
        self._spawned_at = 0.0
        self._running: dict[str, Invocation] = {}
        self._started: set[str] = set()  # request ids whose START is logged
        self._first: str | None = None  # the request id of its first invocation (the cold one)
        self._exit: asyncio.Future[int] | None = None
        self._tasks: list[asyncio.Future[None]] = []
        self._last_memory_mb: int | None = None
        self.on_released: Callable[[ExecutionEnvironment], None] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def init_duration_ms(self) -> float | None:
        if self.server.first_poll_at is None:
            return None
        return (self.server.first_poll_at - self._spawned_at) * 1000

    def command(self) -> list[str]:
        return self.launch.command()

    def environment(self) -> dict[str, str]:
        return self.launch.environment()

    # lifecycle

    async def start(self) -> None:
        """Starts the Runtime API and the runtime process (whose init then runs on its own)."""
        loop = asyncio.get_running_loop()
        self._exit = loop.create_future()
        self.server.on_truncated = self._on_truncated
        await self.server.start()
        if self.worker_logs is not None:
            await self.worker_logs.start()
        self.launch = self._launch_with_platform_variables()
        command = self.command()
        self.output, output_fd = await RuntimeOutput.open(self._emit)
        output = self.output
        self._spawned_at = time.monotonic()
        try:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                cwd=self.launch.task_root,
                env=self.environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output_fd,
                stderr=output_fd,
                start_new_session=True,  # its own process group: killed as a whole
                preexec_fn=PARENT_DEATH_SIGNAL,
            )
        except OSError as exc:
            self.dead = True
            await self._close_servers()
            raise EnvironmentStartError(
                function_error(
                    "Runtime.InvalidEntrypoint",
                    f"Cannot start {command[0]}: {exc.strerror or exc}",
                )
            ) from exc
        finally:
            os.close(output_fd)  # the runtime holds it now; EOF comes when the runtime exits
        self._tasks = [output.closed, loop.create_task(self._watch_exit())]

    def _launch_with_platform_variables(self) -> Launch:
        """The launch with what the platform sets for this environment: the Runtime API's port
        (known once it listens) and, on Managed Instances, the concurrency, the
        initialization type, JSON logs (the only format Managed Instances support, so every
        record carries its requestId) and the workers' log socket."""
        variables: dict[str, str] = {}
        if self.worker_logs is not None:
            variables = {
                "AWS_LAMBDA_MAX_CONCURRENCY": str(self.capacity),
                "AWS_LAMBDA_INITIALIZATION_TYPE": "lambda-managed-instances",
                "AWS_LAMBDA_LOG_FORMAT": "JSON",
                "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET": self.worker_logs.path,
            }
        return dataclasses.replace(
            self.launch, runtime_api=self.server.address, platform_variables=variables
        )

    async def stop(self) -> None:
        """Kills the process group and closes the Runtime API."""
        self.dead = True
        self.kill()
        if self.process is not None:
            with contextlib.suppress(asyncio.TimeoutError, ProcessLookupError):
                await asyncio.wait_for(self.process.wait(), 2)
        await self.server.stop(
            function_error("Runtime.ExitError", "The emulator stopped the execution environment")
        )
        if self.worker_logs is not None:
            await self.worker_logs.close()
        for task in self._tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 1)

    async def _close_servers(self) -> None:
        await self.server.stop()
        if self.worker_logs is not None:
            await self.worker_logs.close()

    def kill(self) -> None:
        """SIGKILL to the whole process group (the runtime and anything it started)."""
        self.dead = True
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    # invocations

    @property
    def reusable(self) -> bool:
        """Warm and healthy: may take more invocations."""
        return not self.dead and self.server.init_error is None

    @property
    def has_room(self) -> bool:
        """May take one more invocation now."""
        return self.reusable and self.taken < self.capacity

    def reserve(self) -> None:
        """Counts an invocation the engine is about to ``run`` here (synchronously, so that
        concurrent requests never give one environment more than its capacity)."""
        self.taken += 1

    async def run(self, invocation: Invocation) -> None:
        """Hands ``invocation`` (``reserve``d) to the runtime and enforces its limits until it
        ends. The logs and ``on_released`` happen in the invocation's end callback: by the
        time the consumer sees the end, this environment is back in its pool."""
        cold = self._first is None
        if cold:
            self._first = invocation.request_id
        self.invocations += 1
        self._running[invocation.request_id] = invocation
        invocation.add_dispatch_callback(self._log_start)
        invocation.add_end_callback(self._ended)
        if self.dead:  # stopped while it was starting (emulator shutdown)
            invocation.finish(function_error("Runtime.ExitError", "The environment was stopped"))
            return
        self.server.enqueue(invocation)
        dispatched = asyncio.ensure_future(invocation.wait_dispatched())
        ended = asyncio.ensure_future(invocation.wait_ended())
        init_timeout = self._init_timeout_s()
        try:
            await asyncio.wait(
                {dispatched, ended},
                timeout=init_timeout if cold else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if invocation.ended:
                return
            if invocation.dispatched_at is None:
                self.kill()
                invocation.finish(
                    function_error(
                        "Runtime.InitTimeout",
                        f"The init phase did not end within {init_timeout:.0f} seconds",
                    )
                )
                return
            remaining = self.spec.timeout_s - (time.monotonic() - invocation.dispatched_at)
            try:
                await asyncio.wait_for(invocation.wait_ended(), max(remaining, 0))
            except TimeoutError:
                self._time_out(invocation)
        finally:
            dispatched.cancel()
            ended.cancel()

    def _init_timeout_s(self) -> float:
        if self.managed:
            return max(MANAGED_INIT_TIMEOUT_S, self.spec.timeout_s)
        return INIT_TIMEOUT_S

    def _log_start(self, invocation: Invocation) -> None:
        if invocation.request_id not in self._started:
            self._drain_output()  # what the init phase printed comes before START
            self._started.add(invocation.request_id)
            if self.pid is not None and self._last_memory_mb is None:
                # A reading before the handler runs, for the REPORT of a crash (no /proc then).
                self._last_memory_mb = max_memory_mb(self.pid)
            self.log.start(self.spec.name, invocation.request_id)

    def _ended(self, invocation: Invocation) -> None:
        spec = self.spec
        cold = invocation.request_id == self._first
        self._running.pop(invocation.request_id, None)
        init_error = self.server.init_error
        if init_error is not None and cold:
            self.log.init_report(spec.name, self.init_failed_ms(), init_error.error_type)
        self._log_start(invocation)
        self._started.discard(invocation.request_id)
        began = invocation.dispatched_at or invocation.ended_at
        assert began is not None and invocation.ended_at is not None
        memory = max_memory_mb(self.pid) if self.pid is not None else None
        self._last_memory_mb = memory or self._last_memory_mb
        self._drain_output()  # what the function printed before it answered comes before END
        self.log.end(
            spec.name,
            invocation.request_id,
            duration_ms=(invocation.ended_at - began) * 1000,
            memory_mb=spec.memory_mb,
            max_memory_mb=self._last_memory_mb,
            init_duration_ms=self.init_duration_ms if cold else None,
            error=(error.error_type, error.error_message) if (error := invocation.error) else None,
        )
        if not self._worker_still_busy(invocation):
            self._release()

    def _worker_still_busy(self, invocation: Invocation) -> bool:
        """A Managed Instances invocation that timed out keeps its worker until the runtime
        answers for it (late); the slot is given back then."""
        error = invocation.error
        if not (self.managed and error is not None and error.error_type == "Sandbox.Timedout"):
            return False
        if self.dead:
            return False
        self.server.when_answered(invocation.request_id, self._release)
        return True

    def _release(self) -> None:
        self.taken -= 1
        if self.on_released is not None:
            self.on_released(self)

    def _emit(self, line: str) -> None:
        self.log.output(self.spec.name, line)

    def _drain_output(self) -> None:
        if self.output is not None:
            self.output.drain()
        if self.worker_logs is not None:
            self.worker_logs.drain()

    def init_failed_ms(self) -> float:
        return (time.monotonic() - self._spawned_at) * 1000

    def _time_out(self, invocation: Invocation) -> None:
        timestamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        message = (
            f"{timestamp}Z {invocation.request_id} Task timed out after "
            f"{self.spec.timeout_s:.2f} seconds"
        )
        if not self.managed:
            self.kill()  # Lambda does not let a timed-out handler run on into the next one
        invocation.finish(function_error("Sandbox.Timedout", message))

    def _on_truncated(self, invocation: Invocation) -> None:
        """The runtime's response connection closed mid-stream: a crash, unless it lives on."""
        asyncio.get_running_loop().create_task(self._judge_truncation(invocation))

    async def _judge_truncation(self, invocation: Invocation) -> None:
        assert self._exit is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._exit), 0.5)
        invocation.finish(
            function_error(
                "Runtime.TruncatedResponse",
                f"RequestId: {invocation.request_id} Error: the runtime closed the "
                "response stream before ending it",
            )
        )

    async def _watch_exit(self) -> None:
        assert self.process is not None and self._exit is not None
        code = await self.process.wait()
        self.dead = True
        self._exit.set_result(code)
        status = f"signal: {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        status = status.replace("SIGKILL", "killed")
        for current in list(self._running.values()):
            current.finish(
                function_error(
                    "Runtime.ExitError",
                    f"RequestId: {current.request_id} Error: Runtime exited with error: {status}",
                )
            )
        await self.server.stop(
            function_error("Runtime.ExitError", f"Runtime exited with error: {status}")
        )

"""One execution environment: a runtime process and the Runtime API it polls.

It is started the way Lambda starts a managed Python environment: the standard Lambda
variables, the function's own, ``/opt`` (here: a directory merging the function's layers)
and ``AWS_LAMBDA_EXEC_WRAPPER`` run with the interpreter and the stock client as arguments.
It enforces what Lambda enforces around an invocation: the timeout (the process is killed,
so that a runaway handler cannot answer late), a crash (``Runtime.ExitError``) and an init
failure reported by the runtime.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import ctypes
import datetime
import importlib.util
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from streamlab.emulator.invocation import FunctionError, FunctionSpec, function_error
from streamlab.emulator.invocation_queue import Invocation
from streamlab.emulator.limits import LAMBDA_LIMITS, Limits
from streamlab.emulator.logs import LambdaLog, max_memory_mb
from streamlab.emulator.output import RuntimeOutput
from streamlab.emulator.runtime_api import RuntimeApiServer

INIT_TIMEOUT_S = 10.0  # Lambda's limit for the init phase of an on-demand environment

# Variables taken from the emulator's own environment: what a process needs to run at all,
# and the local AWS credentials (Lambda would give the function its role's credentials).
PASSED_THROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@dataclass(frozen=True)
class Isolation:
    """What a function's process runs with instead of the emulator's virtual environment
    (built by ``sandbox.Sandbox``): Lambda's ``/var/lang/bin/python3.X``, ``/var/lang/bin``,
    ``/var/runtime`` (holding ``bootstrap.py``) and, when it differs from the code directory,
    ``/var/task`` (the code with its bundled requirements)."""

    python: str
    bin_dir: Path
    runtime_dir: Path
    task_dir: Path | None = None


class OptDir:
    """A stand-in for ``/opt``: the function's layers merged, later layers winning.

    Symlinks, not copies: edits to a layer's files show up on the next cold start.
    """

    def __init__(self, layer_dirs: Iterable[Path]) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="streamlab-opt-")
        self.path = Path(self._tmp.name)
        for layer in layer_dirs:
            _merge(Path(layer).resolve(), self.path)

    def cleanup(self) -> None:
        self._tmp.cleanup()


def _merge(source: Path, target: Path) -> None:
    for entry in sorted(source.iterdir()):
        destination = target / entry.name
        if destination.is_symlink() and destination.is_dir() and entry.is_dir():
            # Two layers share a directory (python/, bin/): turn the link into a real
            # directory holding both layers' entries.
            previous = destination.resolve()
            destination.unlink()
            destination.mkdir()
            _merge(previous, destination)
            _merge(entry, destination)
        elif destination.is_dir() and not destination.is_symlink() and entry.is_dir():
            _merge(entry, destination)
        else:
            if destination.is_symlink() or destination.exists():
                destination.unlink()
            destination.symlink_to(entry)


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel kills it if the emulator dies, even by SIGKILL.

    (Strictly: when the thread that started it ends; that is the event loop's thread.)
    """
    with contextlib.suppress(Exception):
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):
    _PRCTL = None


def _stock_runtime_dir() -> str:
    """Where the stock runtime client lives: Lambda's /var/runtime."""
    spec = importlib.util.find_spec("awslambdaric")
    if spec is None or spec.origin is None:
        return str(Path(sys.executable).parent)
    return str(Path(spec.origin).parent.parent)


_RUNTIME_DIR = _stock_runtime_dir()


def _system_path(path: str) -> list[str]:
    """PATH without the emulator's virtual environment."""
    venv_bin = str(Path(sys.prefix) / "bin") if sys.prefix != sys.base_prefix else None
    return [entry for entry in path.split(os.pathsep) if entry and entry != venv_bin]


def decode_client_context(client_context: str | None) -> str | None:
    """The Invoke API takes the client context base64-encoded; runtimes receive JSON."""
    if client_context is None:
        return None
    try:
        decoded = base64.b64decode(client_context, validate=True).decode()
        json.loads(decoded)
    except (binascii.Error, ValueError):
        return client_context
    return decoded


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
        self.isolation = isolation
        self.opt_dir = opt_dir
        self.log = log
        self.region = region
        self.base_environment = os.environ if base_environment is None else base_environment
        self.server = RuntimeApiServer(function_name=spec.name, region=region, limits=limits)
        self.process: asyncio.subprocess.Process | None = None
        self.output: RuntimeOutput | None = None
        self.invocations = 0
        self.dead = False
        self._spawned_at = 0.0
        self._current: Invocation | None = None
        self._exit: asyncio.Future[int] | None = None
        self._tasks: list[asyncio.Future[None]] = []
        self._cold = True
        self._start_logged = False
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

    # lifecycle

    async def start(self) -> None:
        """Starts the Runtime API and the runtime process (whose init then runs on its own)."""
        loop = asyncio.get_running_loop()
        self._exit = loop.create_future()
        self.server.on_truncated = self._on_truncated
        command = self.command()
        await self.server.start()
        name = self.spec.name
        self.output, output_fd = await RuntimeOutput.open(lambda line: self.log.output(name, line))
        output = self.output
        self._spawned_at = time.monotonic()
        try:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                cwd=self.task_root,
                env=self.environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output_fd,
                stderr=output_fd,
                start_new_session=True,  # its own process group: killed as a whole
                preexec_fn=_die_with_parent if _PRCTL is not None else None,
            )
        except OSError as exc:
            self.dead = True
            await self.server.stop()
            raise EnvironmentStartError(
                function_error(
                    "Runtime.InvalidEntrypoint",
                    f"Cannot start {command[0]}: {exc.strerror or exc}",
                )
            ) from exc
        finally:
            os.close(output_fd)  # the runtime holds it now; EOF comes when the runtime exits
        self._tasks = [output.closed, loop.create_task(self._watch_exit())]

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
        for task in self._tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 1)

    def kill(self) -> None:
        """SIGKILL to the whole process group (the runtime and anything it started)."""
        self.dead = True
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    # one invocation

    @property
    def reusable(self) -> bool:
        """Warm and healthy: may take the next invocation."""
        return not self.dead and self.server.init_error is None

    async def run(self, invocation: Invocation) -> None:
        """Hands ``invocation`` to the runtime and enforces its limits until it ends.

        The logs and ``on_released`` happen in the invocation's end callback, not here:
        by the time the consumer sees the end, this environment is back in its pool.
        """
        spec = self.spec
        self._cold = self.invocations == 0
        self.invocations += 1
        self._current = invocation
        self._start_logged = False
        invocation.add_end_callback(self._ended)
        if self.dead:  # stopped while it was starting (emulator shutdown)
            invocation.finish(function_error("Runtime.ExitError", "The environment was stopped"))
            return
        self.server.enqueue(invocation)
        dispatched = asyncio.ensure_future(invocation.wait_dispatched())
        ended = asyncio.ensure_future(invocation.wait_ended())
        try:
            await asyncio.wait(
                {dispatched, ended},
                timeout=INIT_TIMEOUT_S if self._cold else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if invocation.ended:
                return
            if invocation.dispatched_at is None:
                self.kill()
                invocation.finish(
                    function_error(
                        "Runtime.InitTimeout",
                        f"The init phase did not end within {INIT_TIMEOUT_S:.0f} seconds",
                    )
                )
                return
            self._log_start(invocation)
            remaining = spec.timeout_s - (time.monotonic() - invocation.dispatched_at)
            try:
                await asyncio.wait_for(invocation.wait_ended(), max(remaining, 0))
            except TimeoutError:
                self._time_out(invocation)
        finally:
            dispatched.cancel()
            ended.cancel()

    def _log_start(self, invocation: Invocation) -> None:
        if not self._start_logged:
            self._drain_output()  # what the init phase printed comes before START
            self._start_logged = True
            if self.pid is not None and self._last_memory_mb is None:
                # A reading before the handler runs, for the REPORT of a crash (no /proc then).
                self._last_memory_mb = max_memory_mb(self.pid)
            self.log.start(self.spec.name, invocation.request_id)

    def _ended(self, invocation: Invocation) -> None:
        spec = self.spec
        self._current = None
        init_error = self.server.init_error
        if init_error is not None and self._cold:
            self.log.init_report(spec.name, self.init_failed_ms(), init_error.error_type)
        self._log_start(invocation)
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
            init_duration_ms=self.init_duration_ms if self._cold else None,
            error=(error.error_type, error.error_message) if (error := invocation.error) else None,
        )
        if self.on_released is not None:
            self.on_released(self)

    def _drain_output(self) -> None:
        if self.output is not None:
            self.output.drain()

    def init_failed_ms(self) -> float:
        return (time.monotonic() - self._spawned_at) * 1000

    def _time_out(self, invocation: Invocation) -> None:
        timestamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        message = (
            f"{timestamp}Z {invocation.request_id} Task timed out after "
            f"{self.spec.timeout_s:.2f} seconds"
        )
        self.kill()  # Lambda does not let a timed-out handler run on into the next invocation
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
        current = self._current
        if current is not None:
            current.finish(
                function_error(
                    "Runtime.ExitError",
                    f"RequestId: {current.request_id} Error: Runtime exited with error: {status}",
                )
            )
        await self.server.stop(
            function_error("Runtime.ExitError", f"Runtime exited with error: {status}")
        )

    # how Lambda starts it

    @property
    def task_root(self) -> Path:
        """Where ``/var/task`` is locally: the code, with its bundled requirements if any."""
        isolation = self.isolation
        if isolation is not None and isolation.task_dir is not None:
            return isolation.task_dir
        return self.spec.code_dir

    def command(self) -> list[str]:
        spec = self.spec
        wrapper = self._local_path(self.spec.environment.get("AWS_LAMBDA_EXEC_WRAPPER"))
        isolation = self.isolation
        if spec.runtime.startswith("python") and isolation is not None:
            # As Lambda's /var/runtime/bootstrap does: the wrapper gets the interpreter and
            # the stock bootstrap script as its arguments.
            stock = [isolation.python, str(isolation.runtime_dir / "bootstrap.py")]
            return [wrapper, *stock] if wrapper else stock
        if spec.runtime.startswith("python"):
            stock = [sys.executable, "-m", "awslambdaric", spec.handler]
            return [wrapper, *stock] if wrapper else stock
        if spec.runtime.startswith("provided"):
            for candidate in (spec.code_dir / "bootstrap", self.opt_dir / "bootstrap"):
                if candidate.exists():
                    return [str(candidate)]
            raise EnvironmentStartError(
                function_error("Runtime.InvalidEntrypoint", "No bootstrap in the code or layers")
            )
        raise EnvironmentStartError(
            function_error(
                "Runtime.InvalidRuntime",
                f"Runtime {spec.runtime} cannot run locally (python3.x and provided.* can)",
            )
        )

    def environment(self) -> dict[str, str]:
        spec = self.spec
        base = self.base_environment
        env = {key: base[key] for key in PASSED_THROUGH if key in base}
        env.update(spec.environment)
        opt = self.opt_dir
        today = datetime.datetime.now(datetime.UTC).strftime("%Y/%m/%d")
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[$LATEST]{uuid.uuid4().hex}",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if spec.snap_start else "on-demand",
                "AWS_LAMBDA_RUNTIME_API": self.server.address,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "LAMBDA_TASK_ROOT": str(self.task_root),
                "LAMBDA_RUNTIME_DIR": _RUNTIME_DIR,
                "_HANDLER": spec.handler,
                "TZ": ":UTC",
                "PATH": os.pathsep.join(
                    [str(opt / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")]
                ),
            }
        )
        wrapper = self._local_path(spec.environment.get("AWS_LAMBDA_EXEC_WRAPPER"))
        if wrapper:
            env["AWS_LAMBDA_EXEC_WRAPPER"] = wrapper
        if self.isolation is not None:
            # Lambda's PATH, with local stand-ins: /var/lang/bin, then the system's, then
            # /opt/bin; never the emulator's virtual environment.
            env["LAMBDA_RUNTIME_DIR"] = str(self.isolation.runtime_dir)
            env["PATH"] = os.pathsep.join(
                [str(self.isolation.bin_dir), *_system_path(base.get("PATH", "")), str(opt / "bin")]
            )
        elif not wrapper and spec.runtime.startswith("python"):
            # What Lambda's python bootstrap does before starting the stock client; a wrapper
            # replaces that bootstrap and sets up the path itself.
            env["PYTHONPATH"] = os.pathsep.join(self._python_path())
        return env

    def _python_path(self) -> list[str]:
        """``--use-venv``: the stock client from the emulator's environment, with the
        function's code and layers in front."""
        python = self.opt_dir / "python"
        local = f"{sys.version_info.major}.{sys.version_info.minor}"
        versions = dict.fromkeys([self.spec.runtime.removeprefix("python"), local])
        site_packages = [str(python / "lib" / f"python{v}" / "site-packages") for v in versions]
        return [str(self.spec.code_dir), *site_packages, str(python)]

    def _local_path(self, path: str | None) -> str | None:
        """Maps Lambda's /opt and /var/task onto their local stand-ins."""
        if not path:
            return None
        for prefix, local in (("/opt", self.opt_dir), ("/var/task", self.spec.code_dir)):
            if path == prefix or path.startswith(prefix + "/"):
                return str(local) + path[len(prefix) :]
        return path


class EnvironmentStartError(Exception):
    """The runtime could not be started at all; carries the error the invocation ends with."""

    def __init__(self, error: FunctionError) -> None:
        super().__init__(error.error_message)
        self.error = error

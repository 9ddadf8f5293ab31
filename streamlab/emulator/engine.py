"""The emulator's engine: functions of a SAM template run as Lambda runs them.

A pool of execution environments per function: an idle (warm) one is reused, a new
(cold) one is started when all are busy, and the number of invocations in flight across
all functions is capped like an account's concurrency limit (``--max-concurrency``), each
function's by its ``ReservedConcurrentExecutions``. Each function runs isolated in its
``sandbox.Sandbox`` unless ``isolated=False`` (``--use-venv``). The fronts talk to it only
through ``invocation.py``.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import binascii
import json
import os
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Mapping
from pathlib import Path
from typing import Any

from streamlab.emulator.environment import ExecutionEnvironment
from streamlab.emulator.invocation import (
    FunctionError,
    FunctionSpec,
    InvocationEvent,
    TooManyRequests,
    UnknownFunction,
    function_error,
)
from streamlab.emulator.invocation_queue import Invocation
from streamlab.emulator.launch import EnvironmentStartError
from streamlab.emulator.limits import LAMBDA_LIMITS, Limits
from streamlab.emulator.logs import LambdaLog
from streamlab.emulator.sandbox import Sandbox
from streamlab.emulator.template import ParameterOverrides, load_functions

DEFAULT_MAX_CONCURRENCY = 10


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


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


class Engine:
    """Runs the functions of a template; implements ``invocation.Engine``.

    ``await start()`` before serving and ``await stop()`` after: stop kills every runtime
    process group (an ``atexit`` hook and each child's parent-death signal are the
    backstops when the emulator dies without calling it).
    """

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        region: str | None = None,
        log: LambdaLog | None = None,
        isolated: bool = True,
        install_requirements: bool = True,
        limits: Limits = LAMBDA_LIMITS,
    ) -> None:
        self.functions: Mapping[str, FunctionSpec] = dict(functions)
        self.max_concurrency = max_concurrency
        self.region = region or default_region()
        self.log = log or LambdaLog()
        self.isolated = isolated
        self.install_requirements = install_requirements
        self.limits = limits
        self.cold_starts: Counter[str] = Counter()
        self.in_flight = 0
        self.in_flight_by: Counter[str] = Counter()
        self._idle: dict[str, list[ExecutionEnvironment]] = {name: [] for name in self.functions}
        self._busy: set[ExecutionEnvironment] = set()
        self._stopped: set[ExecutionEnvironment] = set()
        self._sandboxes: dict[str, Sandbox] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        atexit.register(self._kill_all)

    @classmethod
    def from_template(
        cls,
        template: str | Path,
        parameter_overrides: ParameterOverrides = None,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        region: str | None = None,
        log: LambdaLog | None = None,
        isolated: bool = True,
        install_requirements: bool = True,
        limits: Limits = LAMBDA_LIMITS,
    ) -> Engine:
        """Loads the functions with SAM CLI (raises template.TemplateError)."""
        region = region or default_region()
        functions = load_functions(template, parameter_overrides, region=region)
        return cls(
            functions,
            max_concurrency=max_concurrency,
            region=region,
            log=log,
            isolated=isolated,
            install_requirements=install_requirements,
            limits=limits,
        )

    async def start(self) -> None:
        """Prepares every function's sandbox, installing into the cache what is missing
        (raises provision.ProvisionError). Environments start on first use (cold starts)."""
        self._stopping = False
        atexit.unregister(self._kill_all)  # registered once, also after a stop and restart
        atexit.register(self._kill_all)
        await asyncio.to_thread(self._prepare_all)

    def _prepare_all(self) -> None:
        for name in self.functions:
            self._sandbox(name)

    async def stop(self) -> None:
        """Stops every environment; invocations still running end with Runtime.ExitError."""
        self._stopping = True
        await asyncio.gather(*(env.stop() for env in self._all()), return_exceptions=True)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        for envs in self._idle.values():
            envs.clear()
        self._busy.clear()
        for sandbox in self._sandboxes.values():
            sandbox.cleanup()
        self._sandboxes.clear()
        atexit.unregister(self._kill_all)

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def invoke(
        self,
        function_name: str,
        payload: bytes,
        *,
        client_context: str | None = None,
        request_id: str | None = None,
    ) -> AsyncIterator[InvocationEvent]:
        """Starts one invocation now; the iterator follows its response.

        Raises UnknownFunction or TooManyRequests at once. The invocation runs to its end
        whether or not the iterator is consumed.
        """
        spec = self.functions.get(function_name)
        if spec is None:
            raise UnknownFunction(function_name)
        if self._stopping:
            raise TooManyRequests("The emulator is shutting down")
        if self.in_flight >= self.max_concurrency:
            raise TooManyRequests(
                f"Rate Exceeded: {self.in_flight} invocations in flight "
                f"(--max-concurrency {self.max_concurrency})"
            )
        reserved = spec.reserved_concurrency
        if reserved is not None and self.in_flight_by[function_name] >= reserved:
            raise TooManyRequests(
                f"Rate Exceeded: {function_name} has {self.in_flight_by[function_name]} "
                f"invocations in flight (ReservedConcurrentExecutions {reserved})"
            )
        self.in_flight += 1
        self.in_flight_by[function_name] += 1
        invocation = Invocation(
            payload,
            timeout_s=spec.timeout_s,
            request_id=request_id,
            client_context=decode_client_context(client_context),
        )
        invocation.add_end_callback(lambda ended: self._ended(function_name))
        self._spawn(self._run(spec, invocation))
        return InvocationStream(invocation)

    def _ended(self, function_name: str) -> None:
        self.in_flight -= 1
        self.in_flight_by[function_name] -= 1

    async def _run(self, spec: FunctionSpec, invocation: Invocation) -> None:
        try:
            environment = await self._acquire(spec)
        except EnvironmentStartError as exc:
            invocation.finish(exc.error)
            return
        except BaseException:
            invocation.finish(_internal_error())
            raise
        try:
            await environment.run(invocation)
        except BaseException:
            environment.kill()
            invocation.finish(_internal_error())
            raise

    async def _acquire(self, spec: FunctionSpec) -> ExecutionEnvironment:
        """An environment with room for one more invocation, reserved for it: a busy one
        (Managed Instances: several at once), else the warmest idle one, else a new one."""
        for environment in self._busy:
            if environment.spec.name == spec.name and environment.has_room:
                environment.reserve()
                return environment
        idle = self._idle[spec.name]
        while idle:
            environment = idle.pop()  # the most recently used: the warmest
            if environment.has_room:
                environment.reserve()
                self._busy.add(environment)
                return environment
            self._spawn(environment.stop())
        sandbox = self._sandbox(spec.name)
        environment = ExecutionEnvironment(
            spec,
            sandbox.opt_dir,
            self.log,
            region=self.region,
            isolation=sandbox.isolation,
            limits=self.limits,
        )
        environment.on_released = self._release
        environment.reserve()
        self._busy.add(environment)
        self.cold_starts[spec.name] += 1
        try:
            await environment.start()
        except BaseException:
            self._busy.discard(environment)
            raise
        return environment

    def _release(self, environment: ExecutionEnvironment) -> None:
        """Runs as an invocation ends: a healthy environment with nothing left in flight is
        warm for the next one."""
        if environment.reusable and not self._stopping:
            if environment.taken == 0 and environment in self._busy:
                self._busy.discard(environment)
                self._idle[environment.spec.name].append(environment)
        elif environment.taken == 0 or not environment.reusable:
            self._busy.discard(environment)
            if environment not in self._stopped:
                self._stopped.add(environment)
                self._spawn(environment.stop())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _sandbox(self, name: str) -> Sandbox:
        sandbox = self._sandboxes.get(name)
        if sandbox is None:
            sandbox = self._sandboxes[name] = Sandbox(
                self.functions[name],
                isolated=self.isolated,
                install_requirements=self.install_requirements,
            )
        return sandbox

    def environments(self, function_name: str) -> list[ExecutionEnvironment]:
        """The function's live environments, busy or idle (for tests and status pages)."""
        busy = [env for env in self._busy if env.spec.name == function_name]
        return busy + [env for env in self._idle.get(function_name, []) if not env.dead]

    def _all(self) -> list[ExecutionEnvironment]:
        return [*self._busy, *(env for envs in self._idle.values() for env in envs)]

    def _kill_all(self) -> None:
        for env in self._all():
            env.kill()


def _internal_error() -> FunctionError:
    return function_error("Runtime.Unknown", "The emulator failed to run the invocation")


class InvocationStream:
    """What ``Engine.invoke`` returns: the invocation's events, for one consumer.

    Dropping it (client disconnect, ``break``, cancellation) detaches the consumer; the
    invocation itself goes on, its output read and discarded.
    """

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation

    @property
    def request_id(self) -> str:
        return self.invocation.request_id

    def __aiter__(self) -> InvocationStream:
        return self

    async def __anext__(self) -> InvocationEvent:
        try:
            return await self.invocation.__anext__()
        except asyncio.CancelledError:
            self.invocation.detach()
            raise

    async def aclose(self) -> None:
        self.invocation.detach()

    def __del__(self) -> None:
        self.invocation.detach()

"""A scripted in-process engine for testing the emulator's HTTP fronts.

It implements the ``Engine`` protocol of ``streamlab.emulator.invocation`` (our own
interface, not a third-party API): each function is a script, an async generator that
receives the invocation payload and yields the InvocationEvents a real runtime would
cause, at the pace the test chooses.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from streamlab.emulator.invocation import (
    AuthType,
    BodyChunk,
    CorsConfig,
    FunctionError,
    FunctionSpec,
    FunctionUrl,
    InvocationEnd,
    InvocationEvent,
    InvokeMode,
    ResponseHead,
    TooManyRequests,
    UnknownFunction,
)

Script = Callable[[bytes], AsyncIterator[InvocationEvent]]

PRELUDE_TYPE = "application/vnd.awslambda.http-integration-response"


def spec(
    name: str,
    invoke_mode: InvokeMode | None = "RESPONSE_STREAM",
    auth_type: AuthType = "NONE",
    cors: CorsConfig | None = None,
) -> FunctionSpec:
    url = (
        FunctionUrl(auth_type=auth_type, invoke_mode=invoke_mode, cors=cors)
        if invoke_mode
        else None
    )
    return FunctionSpec(
        name=name, handler="app.handler", runtime="python3.13", code_dir=Path("."), url=url
    )


def prelude(
    status: int = 200, headers: dict[str, str] | None = None, cookies: list[str] | None = None
) -> bytes:
    """The JSON prelude + 8 NULs a streaming runtime sends before an HTTP body."""
    document: dict[str, object] = {"statusCode": status, "headers": headers or {}}
    if cookies is not None:
        document["cookies"] = cookies
    return json.dumps(document).encode() + b"\x00" * 8


def error(error_type: str, message: str) -> FunctionError:
    document = {"errorMessage": message, "errorType": error_type, "stackTrace": []}
    return FunctionError(
        error_type=error_type, error_message=message, payload=json.dumps(document).encode()
    )


def buffered(result: object) -> Script:
    """A function that returns ``result`` (JSON-serialized) through a buffered response."""

    async def script(payload: bytes) -> AsyncIterator[InvocationEvent]:
        yield ResponseHead(streaming=False, content_type="application/json")
        yield BodyChunk(json.dumps(result).encode())
        yield InvocationEnd()

    return script


def streamed(
    *chunks: bytes, content_type: str = PRELUDE_TYPE, end: FunctionError | None = None
) -> Script:
    """A function that streams ``chunks`` as separate pieces, then ends (with ``end`` as error)."""

    async def script(payload: bytes) -> AsyncIterator[InvocationEvent]:
        yield ResponseHead(streaming=True, content_type=content_type)
        for chunk in chunks:
            await asyncio.sleep(0)
            yield BodyChunk(chunk)
        yield InvocationEnd(end)

    return script


def failing(error_type: str = "ValueError", message: str = "boom") -> Script:
    """A function that fails before sending anything (a runtime /error post)."""

    async def script(payload: bytes) -> AsyncIterator[InvocationEvent]:
        yield InvocationEnd(error(error_type, message))

    return script


def echo_event() -> Script:
    """A buffered function that returns the event it received, so tests can inspect it."""

    async def script(payload: bytes) -> AsyncIterator[InvocationEvent]:
        yield ResponseHead(streaming=False, content_type="application/json")
        yield BodyChunk(payload)
        yield InvocationEnd()

    return script


class Gate:
    """Lets a test (in its own thread) release a script (in the server's loop) step by step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def open(self) -> None:
        self._event.set()

    async def wait(self, timeout: float = 5.0) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._event.wait, timeout)


@dataclass
class Invocation:
    function_name: str
    payload: bytes
    client_context: str | None
    request_id: str | None

    @property
    def event(self) -> dict[str, object]:
        return json.loads(self.payload)


@dataclass
class ScriptedEngine:
    scripts: dict[str, tuple[FunctionSpec, Script]]
    max_concurrency: int = 10
    invocations: list[Invocation] = field(default_factory=list)
    active: int = 0

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        return {name: function for name, (function, _) in self.scripts.items()}

    def invoke(
        self,
        function_name: str,
        payload: bytes,
        *,
        client_context: str | None = None,
        request_id: str | None = None,
    ) -> AsyncIterator[InvocationEvent]:
        if function_name not in self.scripts:
            raise UnknownFunction(function_name)
        if self.active >= self.max_concurrency:
            raise TooManyRequests(function_name)
        self.active += 1
        self.invocations.append(Invocation(function_name, payload, client_context, request_id))
        return self._run(self.scripts[function_name][1], payload)

    async def _run(self, script: Script, payload: bytes) -> AsyncIterator[InvocationEvent]:
        try:
            async for event in script(payload):
                yield event
        finally:
            self.active -= 1

"""Helpers for the engine's tests: the fixture app, timed event collection, process checks."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from streamlab.emulator.engine import Engine
from streamlab.emulator.invocation import BodyChunk, InvocationEnd, InvocationEvent, ResponseHead
from streamlab.emulator.logs import LambdaLog

FIXTURE_APP = Path(__file__).resolve().parent.parent / "fixtures" / "emulator_app"
FIXTURE_TEMPLATE = FIXTURE_APP / "template.yaml"

T = TypeVar("T")


def run(scenario: Callable[[], Awaitable[T]], timeout: float = 30) -> T:
    """Runs an async test body with a deadline, so a hang fails instead of blocking."""

    async def bounded() -> T:
        return await asyncio.wait_for(scenario(), timeout)

    return asyncio.run(bounded())


class Timed:
    """The events of one invocation with their arrival times (seconds since collection began)."""

    def __init__(self) -> None:
        self.events: list[tuple[float, InvocationEvent]] = []

    @property
    def head(self) -> ResponseHead:
        heads = [event for _, event in self.events if isinstance(event, ResponseHead)]
        assert len(heads) == 1, self.events
        return heads[0]

    @property
    def chunks(self) -> list[tuple[float, bytes]]:
        return [(at, event.data) for at, event in self.events if isinstance(event, BodyChunk)]

    @property
    def body(self) -> bytes:
        return b"".join(data for _, data in self.chunks)

    @property
    def end(self) -> InvocationEnd:
        _, last = self.events[-1]
        assert isinstance(last, InvocationEnd), self.events
        return last

    @property
    def end_at(self) -> float:
        return self.events[-1][0]

    def json(self) -> Any:
        return json.loads(self.body)


async def collect(stream: AsyncIterator[InvocationEvent]) -> Timed:
    timed = Timed()
    began = time.monotonic()
    async for event in stream:
        timed.events.append((time.monotonic() - began, event))
    return timed


def engine_with_log(**options: Any) -> tuple[Engine, io.StringIO]:
    """The fixture app's engine, logging into a buffer the test can read."""
    buffer = io.StringIO()
    engine = Engine.from_template(FIXTURE_TEMPLATE, log=LambdaLog(buffer), **options)
    return engine, buffer


def payload(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in (b"Z", b"X")


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()

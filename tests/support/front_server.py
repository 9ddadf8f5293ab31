"""Run the emulator's HTTP server in a background thread so tests can use blocking clients."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from streamlab.emulator.invocation import Engine
from streamlab.emulator.server import EmulatorServer


@contextmanager
def _loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="front-server", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@contextmanager
def serving(engine: Engine, **options: Any) -> Iterator[EmulatorServer]:
    """An EmulatorServer on a free loopback port, stopped (and its loop closed) on exit."""
    with _loop_thread() as loop:
        server = EmulatorServer(engine, host="127.0.0.1", port=0, **options)
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)


@contextmanager
def serving_template(
    template: Path, *, max_concurrency: int = 10, **options: Any
) -> Iterator[EmulatorServer]:
    """The real engine (streamlab.emulator.engine) on a template, behind the server.

    Everything is stopped on exit, runtime processes included.
    """
    from streamlab.emulator.engine import Engine as RealEngine

    engine = RealEngine.from_template(template, max_concurrency=max_concurrency)
    with serving_engine(engine, **options) as server:
        yield server


@contextmanager
def serving_engine(engine: Any, **options: Any) -> Iterator[EmulatorServer]:
    """A real engine (not yet started) behind the server: started on the server's loop,
    stopped on exit with its runtime processes."""
    with _loop_thread() as loop:
        asyncio.run_coroutine_threadsafe(engine.start(), loop).result(120)
        server = EmulatorServer(engine, host="127.0.0.1", port=0, **options)
        try:
            asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
            asyncio.run_coroutine_threadsafe(engine.stop(), loop).result(30)

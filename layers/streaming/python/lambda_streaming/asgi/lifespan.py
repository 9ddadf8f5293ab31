"""The ASGI lifespan protocol, once per execution environment.

Startup runs before the first request, on the runtime's event loop (kept across invocations),
so clients the app opens there stay usable; its ``state`` is copied into every request's scope.
Shutdown runs if the process is told to stop: Lambda sends SIGTERM to the runtime only when an
extension is registered, and otherwise freezes and later kills the environment without notice.
"""

from __future__ import annotations

import asyncio
import logging

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

log = logging.getLogger("lambda_streaming.asgi")
LIFESPAN_ASGI = {"version": "3.0", "spec_version": "2.0"}
MODES = ("auto", "on", "off")


class LifespanFailed(RuntimeError):
    """The app reported ``lifespan.startup.failed`` (or failed in startup with lifespan="on")."""


class Lifespan:
    def __init__(self, app: Callable[..., Any], mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"lifespan must be one of {MODES}, got {mode!r}")
        self._app = app
        self._mode = mode
        self.state: dict[str, Any] = {}
        self.supported = mode != "off"
        self.started = False
        self._messages: asyncio.Queue[dict[str, Any]] | None = None
        self._waiter: asyncio.Future[None] | None = None  # the startup or shutdown step
        self._task: asyncio.Task[None] | None = None
        self._failed = False  # the app sent lifespan.*.failed

    async def startup(self) -> None:
        """Run the app's startup; raises LifespanFailed if it reports failure."""
        if not self.supported or self.started:
            return
        loop = asyncio.get_running_loop()
        self._messages = asyncio.Queue()
        self._waiter = loop.create_future()
        self._failed = False
        self._messages.put_nowait({"type": "lifespan.startup"})
        self._task = loop.create_task(self._run())
        try:
            await self._waiter
        except LifespanFailed:
            self._task = None  # the next invocation tries a fresh startup
            raise
        self.started = self.supported

    async def shutdown(self) -> None:
        if not self.started or self._task is None or self._task.done():
            return
        assert self._messages is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._messages.put_nowait({"type": "lifespan.shutdown"})
        try:
            await self._waiter
        except LifespanFailed as exc:
            log.error("ASGI lifespan shutdown failed: %s", exc)
        finally:
            self.started = False

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": dict(LIFESPAN_ASGI), "state": self.state}
        try:
            await self._app(scope, self._receive, self._send)
        except Exception as exc:
            if self._failed:
                pass  # the app reported its failure (Starlette re-raises after it): done
            elif not self.started and self._mode == "auto":
                # The spec: an app that raises on lifespan does not support it; go on without.
                log.info(
                    "ASGI lifespan unsupported (%s: %s); going on without it",
                    type(exc).__name__,
                    exc,
                )
                self.supported = False
                self._settle()
            else:
                log.exception("ASGI lifespan failed")
                self._settle(LifespanFailed(f"{type(exc).__name__}: {exc}"))
        else:
            if not self.started:
                self.supported = False  # returned without answering startup
            self._settle()

    async def _receive(self) -> dict[str, Any]:
        assert self._messages is not None
        return await self._messages.get()

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("lifespan.startup.complete", "lifespan.shutdown.complete"):
            self._settle()
        elif kind in ("lifespan.startup.failed", "lifespan.shutdown.failed"):
            self._failed = True
            text = str(message.get("message") or kind)
            if "\n" in text.strip():  # Starlette sends the whole traceback: log it, keep its end
                log.error("ASGI %s: %s", kind, text)
                text = text.strip().splitlines()[-1]
            self._settle(LifespanFailed(f"{kind}: {text}"))
        else:
            raise RuntimeError(f"unexpected ASGI lifespan message {kind!r}")

    def _settle(self, error: BaseException | None = None) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)

"""Drive a source into messages: status, tokens, heartbeats, then an error and/or done.

The source runs on a worker thread and hands chunks over a queue, so this side can wait
with a timeout: a silent source still produces heartbeats, and a slow one is cut off
cleanly, with ``Done(reason="deadline")``, shortly before Lambda would kill the function
mid-sentence.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from token_stream.messages import Done, Error, Heartbeat, Message, Status, Token
from token_stream.prompt import PromptRequest
from token_stream.sources import Source, SourceError

logger = logging.getLogger(__name__)

INTERNAL_ERROR = Error("internal_error", "The response could not be completed.")


class HasDeadline(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Timing:
    """0 for the heartbeat interval turns heartbeats off."""

    heartbeat_interval_s: float = 15.0
    deadline_margin_s: float = 1.5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Timing:
        """HEARTBEAT_INTERVAL_MS and DEADLINE_MARGIN_MS, in milliseconds."""
        defaults = cls()
        return cls(
            heartbeat_interval_s=_env_seconds(
                environ, "HEARTBEAT_INTERVAL_MS", defaults.heartbeat_interval_s
            ),
            deadline_margin_s=_env_seconds(
                environ, "DEADLINE_MARGIN_MS", defaults.deadline_margin_s
            ),
        )


# What the worker thread puts on the queue: a chunk, or how the source ended.
@dataclass(frozen=True, slots=True)
class _Finished:
    reason: str


@dataclass(frozen=True, slots=True)
class _Failed:
    error: Error


def generate(
    source: Source,
    request: PromptRequest,
    context: HasDeadline | None = None,
    timing: Timing | None = None,
) -> Iterator[Message]:
    """The messages of one response. Closing the iterator early cancels the source."""
    timing = timing or Timing.from_env()
    started = time.monotonic()
    deadline = _deadline(started, context, timing.deadline_margin_s)
    chunks: queue.SimpleQueue[str | _Finished | _Failed] = queue.SimpleQueue()
    cancelled = threading.Event()
    worker = threading.Thread(
        target=_run_source, args=(source, request, cancelled, chunks), daemon=True
    )
    heartbeat_s = timing.heartbeat_interval_s or float("inf")
    count = 0
    first_token_ms: float | None = None

    def done(reason: str) -> Done:
        return Done(count, reason, first_token_ms, _ms_since(started))

    yield Status("started", source.name)
    worker.start()
    try:
        last_sent = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                yield done("deadline")
                return
            wait = min(last_sent + heartbeat_s, deadline) - now
            try:
                item = chunks.get(timeout=None if wait == float("inf") else max(wait, 0))
            except queue.Empty:
                if time.monotonic() < deadline:
                    yield Heartbeat()
                    last_sent = time.monotonic()
                continue
            if isinstance(item, str):
                if first_token_ms is None:
                    first_token_ms = _ms_since(started)
                yield Token(item, count)
                count += 1
                last_sent = time.monotonic()
            elif isinstance(item, _Failed):
                yield item.error
                yield done("error")
                return
            else:
                yield done(item.reason)
                return
    finally:
        cancelled.set()


def _run_source(
    source: Source,
    request: PromptRequest,
    cancelled: threading.Event,
    chunks: queue.SimpleQueue[str | _Finished | _Failed],
) -> None:
    iterator = None
    try:
        iterator = source.tokens(request, cancelled)
        while not cancelled.is_set():
            try:
                chunk = next(iterator)
            except StopIteration as end:
                chunks.put(_Finished(end.value or "complete"))
                return
            if chunk:  # an empty SSE data event would not even be dispatched
                chunks.put(chunk)
    except SourceError as error:
        logger.warning("source %s failed: %s (%s)", source.name, error.message, error.code)
        chunks.put(_Failed(Error(error.code, error.message)))
    except Exception:
        if not cancelled.is_set():  # a failure after cancellation is nobody's business
            logger.exception("source %s failed unexpectedly", source.name)
            chunks.put(_Failed(INTERNAL_ERROR))
    finally:
        close = getattr(iterator, "close", None)  # runs the source's own cleanup
        if close is not None:
            close()


def _deadline(started: float, context: HasDeadline | None, margin_s: float) -> float:
    if context is None:
        return float("inf")
    return started + context.get_remaining_time_in_millis() / 1000 - margin_s


def _ms_since(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


def _env_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    try:
        return max(0.0, int(environ[name]) / 1000)
    except (KeyError, ValueError):
        return default

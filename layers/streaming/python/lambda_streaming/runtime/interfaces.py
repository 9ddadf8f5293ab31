"""The shapes the runtime's parts meet at, for type checkers and readers only.

Never imported at run time: ``typing`` and class bodies cost cold-start milliseconds, and
annotations are strings anyway, so modules import these names under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

Buffer = bytes | bytearray | memoryview  # what a stream takes and hands on, uncopied
Reply = tuple[int, dict[str, str], bytes]  # status, headers (lower-case names), body
ErrorDocument = dict[str, Any]  # {"errorMessage", "errorType", "requestId", "stackTrace"}
# BUFFERED mode: (event, the stream's bytes, its content type) -> (the result, its type)
Shape = Callable[[Any, bytes, str], tuple[bytes, str]]


class LogConfig(Protocol):
    """What the ``logging`` handler reads of the runtime's log setup (``logs.Logs``)."""

    json: bool
    level: str
    request_id: str  # the invocation being served
    tenant_id: str | None

    @property
    def sink(self) -> Any: ...  # log_sinks.StdoutSink | FramedSink


class Transport(Protocol):
    """Bytes to and replies from the Runtime API: ``connection.Connection``, or an in-memory
    stand-in in tests."""

    def send(self, parts: Sequence[Buffer], opens: bool = False) -> None: ...
    def read_reply(self) -> Reply: ...
    def close(self) -> None: ...


class Sink(Protocol):
    """Where a stream's bytes go: the chunked POST, or a buffer in BUFFERED mode."""

    committed: bool

    def set_content_type(self, content_type: str) -> None: ...
    def send(self, pieces: Sequence[Buffer]) -> None: ...
    def finish(self, error: ErrorDocument | None = None, last: Sequence[Buffer] = ()) -> None: ...


class Prelude(Protocol):
    """Metadata a front sends ahead of the body (the HTTP status, headers and cookies)."""

    content_type: str  # the POST's Content-Type that announces the prelude

    def body_content_type(self) -> str: ...
    def set_body_content_type(self, content_type: str) -> None: ...
    def encode(self) -> tuple[bytes, ...]: ...

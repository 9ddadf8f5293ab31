"""Logging as the managed Python runtime does it, so CloudWatch sees the same records.

Replacing the stock client means redoing its logging: the telemetry file descriptor with framed
records (one CloudWatch event per record, multi-line stack traces included),
``AWS_LAMBDA_LOG_FORMAT`` (Text/JSON), ``AWS_LAMBDA_LOG_LEVEL``, and the request id on every
line. Loggers that bring their own handlers (Powertools Logger) are left alone, as the stock
client leaves them.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO

    from lambda_streaming.runtime.errors import ErrorDocument

# Frame types per level (awslambdaric lambda_runtime_log_utils); index = level // 10.
_TEXT_FRAMES = tuple(
    t.to_bytes(4, "big")
    for t in (0xA55A0003, 0xA55A000B, 0xA55A000F, 0xA55A0013, 0xA55A0017, 0xA55A001B)
)
_JSON_FRAMES = tuple(
    t.to_bytes(4, "big")
    for t in (0xA55A0002, 0xA55A000A, 0xA55A000E, 0xA55A0012, 0xA55A0016, 0xA55A001A)
)
_JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# The invocation being served, stamped on every record by log_handler.RequestIdFilter.
request_id = ""
tenant_id: str | None = None
# Where the function's log goes once ``Logs.install`` ran (``context.log`` writes here).
sink: StdoutSink | FramedSink | None = None
# True while the root handler waits for ``logging`` to be imported (see ``Logs.install``).
handler_pending = False
_config: Logs | None = None


def _level_index(levelno: int) -> int:
    return min(50, max(0, levelno)) // 10


class StdoutSink:
    """Outside Lambda (or without a telemetry fd): plain lines on stdout."""

    def log(self, message: str, frame_type: bytes | None = None) -> None:
        sys.stdout.write(message)

    def log_error(self, lines: list[str], frame_type: bytes) -> None:
        # CR keeps a multi-line error as one CloudWatch event when stdout is split on LF.
        sys.stdout.write("\r".join(lines) + "\n")


class FramedSink:
    """The telemetry fd: 4-byte type, 4-byte length, 8-byte µs timestamp, message (big-endian)."""

    def __init__(self, fd: int) -> None:
        self._file: BinaryIO = os.fdopen(fd, "wb", 0)

    def log(self, message: str, frame_type: bytes | None = None) -> None:
        data = message.encode("utf-8")
        header = (frame_type or _TEXT_FRAMES[0]) + len(data).to_bytes(4, "big")
        self._file.write(header + (time.time_ns() // 1000).to_bytes(8, "big") + data)

    def log_error(self, lines: list[str], frame_type: bytes) -> None:
        self.log("\n".join(lines), frame_type)

    def close(self) -> None:
        self._file.close()


class Logs:
    """The log sink and format chosen from the environment at start-up."""

    def __init__(self, environ: os._Environ[str] | dict[str, str]) -> None:
        self.json = (environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
        level = environ.get("AWS_LAMBDA_LOG_LEVEL")
        self.level = {None: "", "TRACE": "DEBUG"}.get(level, level or "").upper()
        fd = environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)  # children must not inherit it
        self.sink: StdoutSink | FramedSink = FramedSink(int(fd)) if fd else StdoutSink()

    def install(self) -> None:
        """Make ``self.sink`` the function's log, and hook ``logging`` in once it is imported.

        The stock client imports ``logging`` at start; we attach the same root handler at the
        moment the function (or a library) first imports it, which no caller can tell apart.
        ``install_pending_handler`` is the backstop for an import the hook did not see.
        """
        global sink, _config, handler_pending
        sink, _config, handler_pending = self.sink, self, True
        if "logging" in sys.modules:
            install_pending_handler()
        elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
            sys.meta_path.insert(0, _AfterImport("logging", install_pending_handler))

    def log_error(self, error: ErrorDocument) -> None:
        """Log an uncaught error the way the stock client does."""
        from lambda_streaming.runtime.failures import log_error  # only once something failed

        log_error(self.sink, error, json_format=self.json)


def install_pending_handler() -> None:
    """Attach the root handler once ``logging`` is imported; at most once, and never failing
    the import that triggered it (a broken handler must not break the function)."""
    global handler_pending
    if not handler_pending or "logging" not in sys.modules:
        return
    handler_pending = False
    try:
        from lambda_streaming.runtime import log_handler

        log_handler.install(_config)
    except Exception as exc:
        sys.stderr.write(f"lambda_streaming: the log handler was not installed: {exc!r}\n")


class _AfterImport:
    """A meta path finder that runs ``then()`` right after module ``name`` is first imported.

    It finds nothing itself: it asks the finders after it for the real spec and hands the
    import a loader that runs the real one, then ``then()``. A look-up that does not import
    (``importlib.util.find_spec``) leaves it waiting; it removes itself once ``then()`` ran.
    """

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self._name = name
        self._then = then

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != self._name:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = None if finder is self or find_spec is None else find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if not hasattr(spec.loader, "exec_module"):
            return None  # an unusual loader: let it import as usual; the backstop installs
        spec.loader = _ThenLoader(spec.loader, self._finish)
        return spec

    def _finish(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self._then()


class _ThenLoader:
    """Runs the real loader, gives the module back its real loader, then calls ``then()``."""

    def __init__(self, loader: Any, then: Callable[[], None]) -> None:
        self._loader = loader
        self._then = then

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        module.__loader__ = module.__spec__.loader = self._loader  # reload() and tools see it
        self._then()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

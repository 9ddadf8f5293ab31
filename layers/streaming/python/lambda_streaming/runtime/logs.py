"""Logging as the managed Python runtime does it, so CloudWatch sees the same records:
``AWS_LAMBDA_LOG_FORMAT``, ``AWS_LAMBDA_LOG_LEVEL``, the request id on every line, framed
records on the telemetry fd (``log_sinks``). Loggers with their own handlers are left alone.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambda_streaming.runtime.interfaces import ErrorDocument
    from lambda_streaming.runtime.log_sinks import FramedSink, StdoutSink

# True while the root handler waits for ``logging`` to be imported (see ``Logs.install``).
handler_pending = False
_config: Logs | None = None


class Logs:
    """The log sink and format chosen from the environment at start-up."""

    def __init__(self, environ: os._Environ[str] | dict[str, str]) -> None:
        self.json = (environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
        level = environ.get("AWS_LAMBDA_LOG_LEVEL")
        self.level = {None: "", "TRACE": "DEBUG"}.get(level, level or "").upper()
        fd = environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)  # children must not inherit it
        self.fd = int(fd) if fd else None
        self._sink: StdoutSink | FramedSink | None = None
        # The invocation being served, stamped on every record (log_handler.RequestIdFilter).
        self.request_id = ""
        self.tenant_id: str | None = None

    @property
    def sink(self) -> StdoutSink | FramedSink:
        """Where the function's log goes: the telemetry fd, else stdout. Made on first use,
        so a function that never logs never compiles it."""
        if self._sink is None:
            from lambda_streaming.runtime.log_sinks import FramedSink, StdoutSink

            self._sink = FramedSink(self.fd) if self.fd is not None else StdoutSink()
        return self._sink

    def install(self) -> None:
        """Make ``self.sink`` the function's log, and hook ``logging`` in once it is imported.

        The stock client imports ``logging`` at start; we attach the same root handler at the
        moment the function (or a library) first imports it, which no caller can tell apart.
        ``install_pending_handler`` is the backstop for an import the hook did not see.
        """
        global _config, handler_pending
        _config, handler_pending = self, True
        if "logging" in sys.modules:
            install_pending_handler()
        elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
            sys.meta_path.insert(0, _AfterImport("logging", install_pending_handler))

    def log_error(self, error: ErrorDocument) -> None:
        """Log an uncaught error the way the stock client does."""
        from lambda_streaming.runtime.failures import log_error  # only once something failed

        log_error(self.sink, error, json_format=self.json)


def log(message: str) -> None:
    """``context.log``: the function's log, or stdout before ``Logs.install`` ran."""
    if _config is None:
        sys.stdout.write(message)
    else:
        _config.sink.log(message)


def install_pending_handler() -> None:
    """Attach the root handler once ``logging`` is imported; at most once, and never failing
    the import that triggered it (a broken handler must not break the function)."""
    global handler_pending
    if not handler_pending or "logging" not in sys.modules:
        return
    handler_pending = False
    if _config is None:
        return
    try:
        from lambda_streaming.runtime import log_handler

        log_handler.install(_config)
    except Exception as exc:
        sys.stderr.write(f"lambda_streaming: the log handler was not installed: {exc!r}\n")


class _AfterImport:
    """A meta path finder that runs ``then()`` right after module ``name`` is first imported.

    It finds nothing itself: it asks the finders after it for the real spec and wraps that
    spec's own loader's ``exec_module`` to run ``then()`` after it. A look-up that does not
    import (``importlib.util.find_spec``) leaves it waiting; it removes itself once ``then()``
    ran.
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
        loader = spec.loader
        run = getattr(loader, "exec_module", None)
        if run is None or isinstance(loader, type):
            return None  # an unusual loader: let it import as usual; the backstop installs

        def exec_module(module: Any) -> None:
            del loader.exec_module  # the loader is itself again (reload() and tools see it)
            run(module)
            if module.__name__ == self._name:  # a loader shared by many (zipimport): wait on
                self._finish()

        try:
            loader.exec_module = exec_module  # this spec's own loader: no other import sees it
        except (AttributeError, TypeError):
            return None  # a loader without instance attributes: the backstop installs
        return spec

    def _finish(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self._then()

"""The local emulator as a child process, for a comparison that needs no AWS account.

A separate process, not a thread: the functions and the server then do not compete with
the measuring client for one interpreter's GIL, as they would not in AWS either.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

STARTUP_TIMEOUT_S = 60.0


class EmulatorError(RuntimeError):
    """The emulator did not come up; the message carries the end of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class LocalEmulator:
    """``python -m streamlab serve`` on a free port; a context manager that always stops it."""

    def __init__(
        self,
        template: Path,
        *,
        parameter_overrides: Sequence[str] = ("DeployBufferedTwins=true",),
        auth: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        self.template = template
        self.parameter_overrides = tuple(parameter_overrides)
        self.auth = auth
        self.host = host
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        # The emulator's log (START/END/REPORT per call) would drown the progress lines;
        # it is kept for the error message if the emulator fails. Closed in __exit__.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.port = free_port(self.host)
        command = [
            sys.executable,
            "-m",
            "streamlab",
            "serve",
            "--template",
            str(self.template),
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.parameter_overrides:
            command += ["--parameter-overrides", *self.parameter_overrides]
        if not self.auth:
            command.append("--no-auth")
        self._process = subprocess.Popen(
            command,
            cwd=self.template.parent,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._wait_listening()

    def _wait_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmulatorError(
                    f"the emulator exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise EmulatorError(
            f"the emulator did not listen within {STARTUP_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGINT first, as a user's Ctrl-C, so the emulator stops its functions itself."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> LocalEmulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        self._log.close()

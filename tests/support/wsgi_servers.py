"""The WSGI test apps under gunicorn, the server the adapter is held to: one process per app
and root path (gunicorn takes a ``SCRIPT_NAME`` from its environment, as behind a proxy that
mounts the app under a prefix, which is how a REST stage looks to the app)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "tests" / "fixtures" / "wsgi_apps"
LAYER_PYTHON = ROOT / "layers" / "streaming" / "python"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def gunicorn(apps: dict[str, tuple[str, str]]) -> Iterator[dict[str, str]]:
    """Start ``{key: ("module:app", script_name)}`` under gunicorn at once (one sync worker
    each); yields ``{key: base URL}`` with the script name in it, once every one answers."""
    started: list[tuple[str, subprocess.Popen[bytes], str]] = []
    try:
        for key, (target, script_name) in apps.items():
            port = free_port()
            env = {
                "PYTHONPATH": f"{APPS}:{LAYER_PYTHON}",
                "PATH": "/usr/bin:/bin",
                "SCRIPT_NAME": script_name,
            }
            command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--timeout", "30"]
            process = subprocess.Popen(
                [*command, "--bind", f"127.0.0.1:{port}", target],
                cwd=APPS,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started.append((key, process, f"http://127.0.0.1:{port}{script_name}"))
        for key, process, url in started:
            _wait_until_up(url, process, key)
        yield {key: url for key, _, url in started}
    finally:
        for _, process, _ in started:
            process.terminate()
        for _, process, _ in started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], key: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn for {key} exited with {process.returncode}")
        try:
            requests.get(url + "/json", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"gunicorn for {key} did not answer within 30 s")

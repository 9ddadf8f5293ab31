"""``python -m streamlab serve`` as a user runs it: banner, streaming, clean SIGTERM/Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT

TEMPLATE = ROOT / "tests" / "fixtures" / "emulator_app" / "template.yaml"


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_streams_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlab", "serve", "--template", str(TEMPLATE), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    banner: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner.append(line)
            if line.startswith("Ctrl-C"):
                break
        text = "".join(banner)
        stream_url = re.search(
            r"(http://127\.0\.0\.1:\d+/StreamFunction/)\s+RESPONSE_STREAM\s+NONE", text
        )
        assert stream_url, text
        assert re.search(r"/EchoFunction/\s+BUFFERED\s+AWS_IAM", text), text
        body = requests.get(stream_url[1], timeout=10).text
        runtime_pid = int(body.splitlines()[0].rsplit(" ", 1)[1])
        process.send_signal(stop_signal)
        assert process.wait(timeout=15) == 0
        assert wait_gone(runtime_pid), "the function's runtime process outlived the emulator"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

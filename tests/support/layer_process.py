"""Run the real ``stream-bootstrap`` against a local Runtime API, as Lambda runs it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.layer_runtime_api import Received

ROOT = Path(__file__).resolve().parents[2]
STREAM_BOOTSTRAP = ROOT / "layers" / "streaming" / "stream-bootstrap"
HANDLERS = ROOT / "tests" / "fixtures" / "layer_handlers"

LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "test-fn",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/test-fn",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]abcdef",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def start_runtime(
    address: str, handler: str, env: dict[str, str] | None = None, **popen: object
) -> subprocess.Popen[bytes]:
    """Start ``stream-bootstrap <this python> /var/runtime/bootstrap.py`` with a Lambda-like env."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_LAMBDA_", "STREAM_INVOKE", "_HANDLER", "_X_AMZN", "PYTEST"))
        and k not in ("AWS_SAM_LOCAL", "PYTHONPATH")
    }
    environ.update(LAMBDA_ENV)
    environ.update(
        {
            "AWS_LAMBDA_RUNTIME_API": address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(HANDLERS),
        }
    )
    environ.update(env or {})
    return subprocess.Popen(
        [str(STREAM_BOOTSTRAP), sys.executable, "/var/runtime/bootstrap.py"],
        env=environ,
        cwd=str(HANDLERS),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: Managed Instances workers included
        **popen,  # type: ignore[arg-type]
    )


def stop(process: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Kill the runtime (it never exits by itself) and any workers it forked; return its output."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
    out, err = process.communicate(timeout=10)
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class LayerHarness:
    """A recording Runtime API plus the runtime processes started against it; all cleaned up."""

    def __init__(self) -> None:
        from tests.support.layer_runtime_api import RecordingRuntimeApi

        self.api = RecordingRuntimeApi()
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(self, handler: str, **env: str) -> subprocess.Popen[bytes]:
        process = start_runtime(self.api.address, handler, env)
        self._processes.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> tuple[str, str]:
        return stop(process)

    def close(self) -> None:
        for process in self._processes:
            stop(process)
        self.api.close()

    def __enter__(self) -> LayerHarness:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


HTTP_CT = "application/vnd.awslambda.http-integration-response"
NULS = b"\x00" * 8


def call(layer: LayerHarness, event: dict[str, Any], **push: Any) -> Received:
    """One invocation through the running runtime: what it posted for ``event``."""
    return layer.api.result(layer.api.push(event, **push))


def split(got: Received) -> tuple[dict[str, Any], bytes]:
    """A streamed HTTP response's prelude (as JSON) and body."""
    assert got.kind == "response", got.body
    assert got.header("Content-Type") == HTTP_CT
    prelude, found, body = got.body.partition(NULS)
    assert found
    return json.loads(prelude), body


def buffered_result(layer: LayerHarness, event: dict[str, Any]) -> dict[str, Any]:
    """A BUFFERED invocation's result: one JSON document, posted whole (no streaming mode)."""
    got = call(layer, event)
    assert got.kind == "response" and got.header("Content-Type") == "application/json"
    assert got.header("Lambda-Runtime-Function-Response-Mode") is None
    return got.json()  # type: ignore[no-any-return]

"""Run one of our functions through the real runtime (stream-bootstrap) and a local Runtime API.

The process is started exactly as Lambda starts it, with the exec wrapper in front of the
interpreter; only the Runtime API server (the ENGINE's) is local.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from streamlab.emulator.invocation import BodyChunk, FunctionError, InvocationEnd, ResponseHead
from streamlab.emulator.runtime_api import RuntimeApiServer

ROOT = Path(__file__).resolve().parents[2]
STREAM_BOOTSTRAP = ROOT / "layers" / "streaming" / "stream-bootstrap"
APP_LAYER = ROOT / "functions" / "shared" / "python"  # the app's own layer (token_stream)


@dataclass
class Result:
    head: ResponseHead | None = None
    chunks: list[tuple[float, bytes]] = field(default_factory=list)  # (seconds since submit, data)
    error: FunctionError | None = None

    @property
    def body(self) -> bytes:
        return b"".join(data for _, data in self.chunks)


@dataclass
class RunningFunction:
    server: RuntimeApiServer
    log_path: Path

    async def invoke(self, payload: bytes, timeout_s: float = 10.0) -> Result:
        result = Result()
        started = time.monotonic()
        invocation = self.server.submit(payload, timeout_s=timeout_s)
        async with asyncio.timeout(timeout_s + 5):
            async for event in invocation:
                if isinstance(event, ResponseHead):
                    result.head = event
                elif isinstance(event, BodyChunk):
                    result.chunks.append((time.monotonic() - started, event.data))
                elif isinstance(event, InvocationEnd):
                    result.error = event.error
        return result

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


@asynccontextmanager
async def running_function(
    function: str, environment: dict[str, str] | None = None
) -> AsyncIterator[RunningFunction]:
    """``function`` is a folder under functions/; the process is killed on exit."""
    code_dir = ROOT / "functions" / function
    server = RuntimeApiServer(function_name=function)
    await server.start()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_RUNTIME_API": server.address,
        "_HANDLER": "app.handler",
        "LAMBDA_TASK_ROOT": str(code_dir),
        # On Lambda both layers merge into /opt/python; here the app layer comes by PYTHONPATH.
        "PYTHONPATH": str(APP_LAYER),
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
        "POWERTOOLS_SERVICE_NAME": function,
        **(environment or {}),
    }
    with tempfile.NamedTemporaryFile(prefix=f"app-{function}-", suffix=".log") as log:
        process = await asyncio.create_subprocess_exec(
            str(STREAM_BOOTSTRAP),
            sys.executable,
            "/var/runtime/bootstrap.py",
            env=env,
            cwd=code_dir,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            yield RunningFunction(server, Path(log.name))
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
            await server.stop()

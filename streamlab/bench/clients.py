"""The runtime clients the bench compares, and how to start each one as Lambda would.

Every client runs as its own process against a Runtime API server, with the environment
Lambda gives a function; only the command and the handler names differ.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLERS_DIR = Path(__file__).resolve().parent / "handlers"
MINIMAL_CLIENT = Path(__file__).resolve().parent / "minimal_client.py"
LAYER_DIR = REPO_ROOT / "layers" / "streaming"
STREAM_BOOTSTRAP = LAYER_DIR / "stream-bootstrap"
NODE_RIC_PACKAGE = "aws-lambda-ric@4.0.2"
NODE_RIC_ENTRY = Path("node_modules") / "aws-lambda-ric" / "index.mjs"


class Workload(Enum):
    NOOP_BUFFERED = "no-op buffered"
    NOOP_STREAMED = "no-op streamed"
    BULK = "bulk streamed"


@dataclass(frozen=True)
class RuntimeClient:
    """One runtime client: its command, and its handler for each workload it supports."""

    key: str
    label: str
    argv: tuple[str, ...]
    handlers: Mapping[Workload, str]
    env: Mapping[str, str] = field(default_factory=dict)
    reference: bool = False  # the server's ceiling, not a contender
    task_root: Path = HANDLERS_DIR  # where the handlers are, as /var/task
    # The cold-start handler in a module importing nothing (None: the no-op handler is such)
    startup_handler: str | None = None

    def supports(self, workload: Workload) -> bool:
        return workload in self.handlers

    def for_startup(self) -> RuntimeClient:
        """This client with its import-free handler as the no-op, for start-up figures that
        are the runtime's own."""
        if self.startup_handler is None:
            return self
        handlers = {**self.handlers, Workload.NOOP_BUFFERED: self.startup_handler}
        return replace(self, handlers=handlers)

    def command(self, workload: Workload, api_address: str) -> tuple[list[str], dict[str, str]]:
        """The argv and environment that start this client serving ``workload``."""
        handler = self.handlers[workload]
        env = lambda_environment(api_address, handler, self.task_root)
        env.update(
            {
                name: value.replace("{task_root}", str(self.task_root))
                for name, value in self.env.items()
            }
        )
        argv = [part.replace("{handler}", handler) for part in self.argv]
        return argv, env


def lambda_environment(api_address: str, handler: str, task_root: Path) -> dict[str, str]:
    """The variables Lambda sets for every runtime (Node's client refuses to run without them)."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "TMPDIR") if name in os.environ}
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": api_address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(task_root),
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]bench",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
        }
    )
    return env


def ours(
    python: str = sys.executable,
    layer: Path = LAYER_DIR,
    key: str = "ours",
    label: str = "ours (stream-bootstrap)",
) -> RuntimeClient:
    """Our runtime, started through the exec wrapper exactly as Lambda starts it."""
    return RuntimeClient(
        key=key,
        label=label,
        argv=(str(layer / STREAM_BOOTSTRAP.name), python),
        handlers={
            Workload.NOOP_BUFFERED: "buffered.noop",
            Workload.NOOP_STREAMED: "streamed.noop",
            Workload.BULK: "streamed.bulk",
        },
        env={"STREAM_INVOKE_MODE": "RESPONSE_STREAM"},
        startup_handler="trivial.noop",
    )


def awslambdaric(python: str = sys.executable) -> RuntimeClient:
    """AWS's stock Python client (PyPI ``awslambdaric``): buffered only."""
    return RuntimeClient(
        key="awslambdaric",
        label=f"awslambdaric {_python_package_version(python, 'awslambdaric')}",
        argv=(python, "-m", "awslambdaric", "{handler}"),
        handlers={Workload.NOOP_BUFFERED: "buffered.noop"},
        env={"PYTHONPATH": "{task_root}"},
        startup_handler="trivial.noop",
    )


def node(install_dir: Path, node_exe: str) -> RuntimeClient:
    """AWS's Node.js client (npm ``aws-lambda-ric``), the reference for streaming."""
    return RuntimeClient(
        key="node",
        label=f"Node {NODE_RIC_PACKAGE.replace('@', ' ')}",
        argv=(node_exe, str(install_dir / NODE_RIC_ENTRY)),
        handlers={
            Workload.NOOP_BUFFERED: "node_bench.noop",
            Workload.NOOP_STREAMED: "node_bench.noopStreamed",
            Workload.BULK: "node_bench.bulk",
        },
    )


def minimal(python: str = sys.executable) -> RuntimeClient:
    """A raw-socket client doing nothing else: what the server itself allows."""
    return RuntimeClient(
        key="ceiling",
        label="server ceiling",
        argv=(python, str(MINIMAL_CLIENT)),
        handlers={
            Workload.NOOP_BUFFERED: "buffered",
            Workload.NOOP_STREAMED: "streamed",
            Workload.BULK: "bulk",
        },
        reference=True,
    )


class SetupError(RuntimeError):
    """A client cannot be started; the message says what to install."""


def ensure_node_client(install_dir: Path, *, install: bool = True) -> str:
    """Returns the ``node`` executable; installs ``aws-lambda-ric`` into ``install_dir`` if missing.

    The package builds a native addon (bundled curl and aws-lambda-cpp) in about a minute.
    """
    node_exe = shutil.which("node")
    if node_exe is None:
        raise SetupError("node is not on PATH: install Node.js 20+ or leave out --clients node")
    if (install_dir / NODE_RIC_ENTRY).exists():
        return node_exe
    npm = shutil.which("npm")
    if not install or npm is None:
        raise SetupError(
            f"{NODE_RIC_PACKAGE} is not installed: run "
            f"`npm install --prefix {install_dir} {NODE_RIC_PACKAGE}`"
        )
    print(
        f"installing {NODE_RIC_PACKAGE} into {install_dir} (native build, ~1 min) ...", flush=True
    )
    install_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(install_dir), NODE_RIC_PACKAGE],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not (install_dir / NODE_RIC_ENTRY).exists():
        raise SetupError(
            f"npm install {NODE_RIC_PACKAGE} failed (it needs cmake, g++, make, autoconf, "
            f"automake, libtool and libcurl4-openssl-dev):\n{done.stdout[-2000:]}"
            f"{done.stderr[-2000:]}"
        )
    return node_exe


def _python_package_version(python: str, package: str) -> str:
    """The version of ``package`` in the interpreter the bench starts, for the column title."""
    if python == sys.executable:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(package)
        except PackageNotFoundError:
            return "(not installed)"
    return ""

"""How Lambda starts a managed Python runtime, locally: the command and its environment.

``/var/runtime/bootstrap`` runs ``AWS_LAMBDA_EXEC_WRAPPER`` (if set) with the interpreter and
the stock ``bootstrap.py`` as arguments, with the standard Lambda variables, the function's
own, and ``/opt`` holding its layers. Locally each of Lambda's paths has a stand-in (the
sandbox's ``opt/``, ``task/``, ``runtime/`` and the provisioned ``/var/lang``), and PATH
leaves out the emulator's virtual environment.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import importlib.util
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from streamlab.emulator.invocation import FunctionError, FunctionSpec, function_error

# Variables taken from the emulator's own environment: what a process needs to run at all,
# and the local AWS credentials (Lambda would give the function its role's credentials).
PASSED_THROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@dataclass(frozen=True)
class Isolation:
    """What a function's process runs with instead of the emulator's virtual environment
    (built by ``sandbox.Sandbox``): Lambda's ``/var/lang/bin/python3.X``, ``/var/lang/bin``,
    ``/var/runtime`` (holding ``bootstrap.py``) and, when it differs from the code directory,
    ``/var/task`` (the code with its bundled requirements)."""

    python: str
    bin_dir: Path
    runtime_dir: Path
    task_dir: Path | None = None


class OptDir:
    """A stand-in for ``/opt``: the function's layers merged, later layers winning.

    Symlinks, not copies: edits to a layer's files show up on the next cold start.
    """

    def __init__(self, layer_dirs: Iterable[Path]) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="streamlab-opt-")
        self.path = Path(self._tmp.name)
        for layer in layer_dirs:
            merge_tree(Path(layer).resolve(), self.path)

    def cleanup(self) -> None:
        self._tmp.cleanup()


def merge_tree(source: Path, target: Path) -> None:
    """Symlinks ``source``'s entries into ``target``; a directory both have is merged."""
    for entry in sorted(source.iterdir()):
        destination = target / entry.name
        if destination.is_symlink() and destination.is_dir() and entry.is_dir():
            # Two layers share a directory (python/, bin/): turn the link into a real
            # directory holding both layers' entries.
            previous = destination.resolve()
            destination.unlink()
            destination.mkdir()
            merge_tree(previous, destination)
            merge_tree(entry, destination)
        elif destination.is_dir() and not destination.is_symlink() and entry.is_dir():
            merge_tree(entry, destination)
        else:
            if destination.is_symlink() or destination.exists():
                destination.unlink()
            destination.symlink_to(entry)


def die_with_parent() -> None:
    """Runs in the child before exec: the kernel kills it if the emulator dies, even by SIGKILL.

    (Strictly: when the thread that started it ends; that is the event loop's thread.)
    """
    if _PRCTL is not None:
        with contextlib.suppress(Exception):
            _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


try:
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):
    _PRCTL = None

# ``preexec_fn`` for a runtime process: die with the emulator where the kernel offers it.
PARENT_DEATH_SIGNAL = die_with_parent if _PRCTL is not None else None


def _stock_runtime_dir() -> str:
    """Where the stock runtime client lives: Lambda's /var/runtime."""
    spec = importlib.util.find_spec("awslambdaric")
    if spec is None or spec.origin is None:
        return str(Path(sys.executable).parent)
    return str(Path(spec.origin).parent.parent)


_RUNTIME_DIR = _stock_runtime_dir()


def system_path(path: str) -> list[str]:
    """PATH without the emulator's virtual environment."""
    venv_bin = str(Path(sys.prefix) / "bin") if sys.prefix != sys.base_prefix else None
    return [entry for entry in path.split(os.pathsep) if entry and entry != venv_bin]


@dataclass(frozen=True)
class Launch:
    """One environment's runtime process as Lambda would start it."""

    spec: FunctionSpec
    opt_dir: Path
    region: str
    runtime_api: str  # AWS_LAMBDA_RUNTIME_API
    isolation: Isolation | None = None
    base_environment: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # Set by the platform for this environment (Managed Instances: concurrency, log socket).
    platform_variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def task_root(self) -> Path:
        """Where ``/var/task`` is locally: the code, with its bundled requirements if any."""
        isolation = self.isolation
        if isolation is not None and isolation.task_dir is not None:
            return isolation.task_dir
        return self.spec.code_dir

    def command(self) -> list[str]:
        spec = self.spec
        wrapper = self._local_path(spec.environment.get("AWS_LAMBDA_EXEC_WRAPPER"))
        isolation = self.isolation
        if spec.runtime.startswith("python") and isolation is not None:
            # As Lambda's /var/runtime/bootstrap does: the wrapper gets the interpreter and
            # the stock bootstrap script as its arguments.
            stock = [isolation.python, str(isolation.runtime_dir / "bootstrap.py")]
            return [wrapper, *stock] if wrapper else stock
        if spec.runtime.startswith("python"):
            stock = [sys.executable, "-m", "awslambdaric", spec.handler]
            return [wrapper, *stock] if wrapper else stock
        if spec.runtime.startswith("provided"):
            for candidate in (spec.code_dir / "bootstrap", self.opt_dir / "bootstrap"):
                if candidate.exists():
                    return [str(candidate)]
            raise EnvironmentStartError(
                function_error("Runtime.InvalidEntrypoint", "No bootstrap in the code or layers")
            )
        raise EnvironmentStartError(
            function_error(
                "Runtime.InvalidRuntime",
                f"Runtime {spec.runtime} cannot run locally (python3.x and provided.* can)",
            )
        )

    def environment(self) -> dict[str, str]:
        spec = self.spec
        base = self.base_environment
        env = {key: base[key] for key in PASSED_THROUGH if key in base}
        env.update(spec.environment)
        opt = self.opt_dir
        today = datetime.datetime.now(datetime.UTC).strftime("%Y/%m/%d")
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[$LATEST]{uuid.uuid4().hex}",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if spec.snap_start else "on-demand",
                "AWS_LAMBDA_RUNTIME_API": self.runtime_api,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "LAMBDA_TASK_ROOT": str(self.task_root),
                "LAMBDA_RUNTIME_DIR": _RUNTIME_DIR,
                "_HANDLER": spec.handler,
                "TZ": ":UTC",
                "PATH": os.pathsep.join(
                    [str(opt / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")]
                ),
            }
        )
        env.update(self.platform_variables)
        wrapper = self._local_path(spec.environment.get("AWS_LAMBDA_EXEC_WRAPPER"))
        if wrapper:
            env["AWS_LAMBDA_EXEC_WRAPPER"] = wrapper
        if self.isolation is not None:
            # Lambda's PATH, with local stand-ins: /var/lang/bin, then the system's, then
            # /opt/bin; never the emulator's virtual environment.
            env["LAMBDA_RUNTIME_DIR"] = str(self.isolation.runtime_dir)
            env["PATH"] = os.pathsep.join(
                [str(self.isolation.bin_dir), *system_path(base.get("PATH", "")), str(opt / "bin")]
            )
        elif not wrapper and spec.runtime.startswith("python"):
            # What Lambda's python bootstrap does before starting the stock client; a wrapper
            # replaces that bootstrap and sets up the path itself.
            env["PYTHONPATH"] = os.pathsep.join(self._python_path())
        return env

    def _python_path(self) -> list[str]:
        """``--use-venv``: the stock client from the emulator's environment, with the
        function's code and layers in front."""
        python = self.opt_dir / "python"
        local = f"{sys.version_info.major}.{sys.version_info.minor}"
        versions = dict.fromkeys([self.spec.runtime.removeprefix("python"), local])
        site_packages = [str(python / "lib" / f"python{v}" / "site-packages") for v in versions]
        return [str(self.spec.code_dir), *site_packages, str(python)]

    def _local_path(self, path: str | None) -> str | None:
        """Maps Lambda's /opt and /var/task onto their local stand-ins."""
        if not path:
            return None
        for prefix, local in (("/opt", self.opt_dir), ("/var/task", self.task_root)):
            if path == prefix or path.startswith(prefix + "/"):
                return str(local) + path[len(prefix) :]
        return path


class EnvironmentStartError(Exception):
    """The runtime could not be started at all; carries the error the invocation ends with."""

    def __init__(self, error: FunctionError) -> None:
        super().__init__(error.error_message)
        self.error = error

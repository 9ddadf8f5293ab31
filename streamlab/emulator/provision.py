"""What Lambda gives a function besides its own code, installed once into a local cache.

On Lambda a Python function sees the standard library, what the managed runtime ships
(``/var/lang/lib/python3.X/site-packages``: boto3 and botocore; ``/var/runtime``: the stock
client ``awslambdaric`` and ``snapshot_restore_py``), its layers in ``/opt`` and its code in
``/var/task`` — nothing else. Locally the emulator builds the same picture from PyPI:

- ``lang/``: a virtual environment without pip or system site-packages, standing in for
  ``/var/lang``; its site-packages holds the runtime's SDK;
- ``runtime/``: the stock client, standing in for ``/var/runtime``;
- public layers given by ARN (Powertools) as a layer directory;
- a function's ``requirements.txt`` as ``sam build`` would bundle it.

Each entry is built in a temporary directory and renamed into place under a file lock, so
concurrent emulators (a ``serve`` and a test run) never see half an install; later starts
only check that the entry exists. Nothing from the developer's virtual environment leaks in.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from streamlab.emulator.interpreters import Interpreter, find_interpreter

log = logging.getLogger(__name__)

CACHE_ENV = "STREAMLAB_CACHE_DIR"

# What the managed runtime provides. AWS no longer publishes these numbers: the Lambda
# Developer Guide (lambda-python.html, "Runtime-included SDK versions") says the SDK version
# "depends on the runtime version and your AWS Region" and tells you to print
# boto3.__version__ from a function; the last table AWS printed (lambda-runtimes.html, 2021)
# gave boto3-1.18.55 botocore-1.21.55 for python3.7-3.9. So we pin one recent pair for
# every python3.x runtime, and say so; a function that needs a newer SDK must bundle it, on
# Lambda as here. awslambdaric 4.2.2 is the stock client the python3.13 runtime runs
# (docs/protocol.md, "What else the stock client does": read from 4.2.2's bootstrap.py).
RUNTIME_SDK: tuple[str, ...] = ("boto3==1.40.4", "botocore==1.40.4")
RUNTIME_CLIENT: tuple[str, ...] = ("awslambdaric==4.2.2", "snapshot-restore-py==1.0.0")

# Powertools' public layer (arn:aws:lambda:<region>:017000801446:layer:
# AWSLambdaPowertoolsPythonV3-<python>-<arch>:<N>) publishes one layer version per release
# of aws-lambda-powertools 3.x, built with the "[all]" extras and without the SDK the runtime
# already has (layer_v3/layer_stack.py: LambdaPowertoolsLayerPythonV3(include_extras=True)).
# Checked against the Powertools docs PRs: 2 = 3.1.0 (#5344), 5 = 3.4.0 (#5785), 6 = 3.4.1
# (#5869); the rest follows the release order on PyPI. The exact answer for any version is
# the layer's Description: `aws lambda get-layer-version-by-arn --arn <arn>`.
POWERTOOLS_V3_RELEASES: tuple[str, ...] = (
    "3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.4.1", "3.5.0", "3.6.0", "3.7.0",
    "3.8.0", "3.9.0", "3.10.0", "3.11.0", "3.12.0", "3.13.0", "3.14.0", "3.15.0",
    "3.15.1", "3.16.0", "3.17.0", "3.18.0", "3.19.0", "3.20.0", "3.21.0", "3.22.0",
    "3.22.1", "3.23.0",
)  # fmt: skip
# The accounts that publish it (commercial regions; China), as the Powertools docs list them.
POWERTOOLS_ACCOUNTS = frozenset({"017000801446", "498634801083"})
_POWERTOOLS_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:(?P<account>\d{12}):layer:"
    r"AWSLambdaPowertoolsPythonV3(?:-python\d+)?(?:-(?:x86_64|arm64))?:(?P<version>\d+)$"
)
# Distributions the runtime provides; a layer built for Lambda leaves them out.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")

Notify = Callable[[str], None]


def _print(message: str) -> None:
    print(f"streamlab: {message}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "streamlab"


class ProvisionError(Exception):
    """A package the function needs could not be installed (no network, no wheel...)."""


@dataclass(frozen=True)
class RuntimeSet:
    """A local ``/var/lang`` (with the runtime's SDK) and ``/var/runtime`` (stock client)."""

    root: Path
    interpreter: Interpreter

    @property
    def python(self) -> str:
        """The function's interpreter: ``/var/lang/bin/python3.X`` locally."""
        return str(self.root / "lang" / "bin" / f"python{self.interpreter.version}")

    @property
    def bin_dir(self) -> Path:
        return self.root / "lang" / "bin"

    @property
    def site_packages(self) -> Path:
        return self.root / "lang" / "lib" / f"python{self.interpreter.version}" / "site-packages"

    @property
    def runtime_dir(self) -> Path:
        return self.root / "runtime"


def runtime_set(runtime: str, notify: Notify = _print) -> RuntimeSet:
    """The cached runtime-provided set for ``runtime`` (python3.X), installed on first use."""
    interpreter = find_interpreter(runtime, notify)
    key = _key(interpreter.executable, *RUNTIME_SDK, *RUNTIME_CLIENT)
    root = cache_root() / "runtimes" / f"{runtime}-py{interpreter.version}-{key}"

    def build(tmp: Path) -> None:
        venv = [interpreter.executable, "-m", "venv", "--without-pip", str(tmp / "lang")]
        _run(venv, f"cannot create a virtual environment with {interpreter.executable}")
        version = interpreter.version
        site = tmp / "lang" / "lib" / f"python{version}" / "site-packages"
        _pip_install(list(RUNTIME_SDK), site, version)
        _pip_install(list(RUNTIME_CLIENT), tmp / "runtime", version)

    what = ", ".join([*RUNTIME_SDK, *RUNTIME_CLIENT])
    _ensure(root, build, notify, f"installing what the {runtime} runtime provides ({what})")
    return RuntimeSet(root, interpreter)


def powertools_version(arn: str) -> str | None:
    """The aws-lambda-powertools release in a public Powertools V3 layer version, or None
    when ``arn`` is not one (an unknown layer) or is newer than our table."""
    match = _POWERTOOLS_ARN.match(arn)
    if match is None or match["account"] not in POWERTOOLS_ACCOUNTS:
        return None
    number = int(match["version"])
    if not 1 <= number <= len(POWERTOOLS_V3_RELEASES):
        return None
    return POWERTOOLS_V3_RELEASES[number - 1]


def is_powertools_arn(arn: str) -> bool:
    match = _POWERTOOLS_ARN.match(arn)
    return match is not None and match["account"] in POWERTOOLS_ACCOUNTS


def powertools_layer(arn: str, python_version: str, notify: Notify = _print) -> Path | None:
    """A local copy of the Powertools layer ``arn`` names (a directory holding ``python/``),
    or None when ``arn`` is not a Powertools V3 layer."""
    if not is_powertools_arn(arn):
        return None
    version = powertools_version(arn)
    if version is None:
        # Newer than our table: the newest 3.x is the best local stand-in; say so.
        spec, label = "aws-lambda-powertools[all]>=3,<4", "newest-3.x"
        notify(
            f"{arn}: layer version not in streamlab's table; using the newest "
            "aws-lambda-powertools 3.x from PyPI"
        )
    else:
        spec, label = f"aws-lambda-powertools[all]=={version}", version
    root = cache_root() / "layers" / f"powertools-{label}-py{python_version}"

    def build(tmp: Path) -> None:
        _pip_install([spec], tmp / "python", python_version)
        _remove_distributions(tmp / "python", RUNTIME_PROVIDED)

    _ensure(root, build, notify, f"installing the layer {arn} ({spec})")
    return root


def requirements_dir(requirements: Path, python_version: str, notify: Notify = _print) -> Path:
    """The packages of a function's ``requirements.txt``, as ``sam build`` bundles them into
    the code; a new directory whenever the file's content changes."""
    content = requirements.read_bytes()
    key = hashlib.sha256(content + python_version.encode()).hexdigest()[:16]
    root = cache_root() / "requirements" / f"{key}-py{python_version}"

    def build(tmp: Path) -> None:
        # relative paths in the file are the code directory's, as under `sam build`
        _pip_install(
            ["-r", str(requirements)], tmp / "packages", python_version, cwd=requirements.parent
        )
        shutil.copyfile(requirements, tmp / "requirements.txt")

    _ensure(root, build, notify, f"installing {requirements}")
    return root / "packages"


# installing


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def _ensure(root: Path, build: Callable[[Path], None], notify: Notify, what: str) -> None:
    """Builds ``root`` once: in a temporary sibling, renamed into place under a lock."""
    if (root / ".complete").exists():
        return
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root.parent / f".{root.name}.lock"):
        if (root / ".complete").exists():
            return  # another process built it while we waited
        notify(f"{what} into {root} (once; later starts reuse it)")
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
        try:
            build(tmp)
            (tmp / ".complete").write_text("")
            if root.exists():
                shutil.rmtree(root)  # a build that died half-way
            tmp.rename(root)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip_install(
    requirements: Sequence[str], target: Path, python_version: str, cwd: Path | None = None
) -> None:
    """``pip install --target`` with the emulator's pip, for the function's Python version
    (only wheels when that is not the emulator's own version: pip cannot build for another)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-warn-conflicts",
        "--target",
        str(target),
    ]
    if python_version != "{}.{}".format(*sys.version_info[:2]):
        command += ["--python-version", python_version, "--only-binary=:all:"]
    command += requirements
    _run(command, f"pip could not install {' '.join(requirements)}", cwd=cwd)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: not on Lambda's PATH


def _run(command: Sequence[str], failure: str, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=600, cwd=cwd
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProvisionError(f"{failure}: {exc}") from exc
    if done.returncode != 0:
        output = "\n".join(
            line
            for line in (done.stderr + done.stdout).splitlines()
            if "is ignored: it is neither a file nor a directory" not in line
        )
        raise ProvisionError(f"{failure}:\n{output.strip()}")


def _remove_distributions(target: Path, names: Sequence[str]) -> None:
    """Deletes the named distributions (their packages and dist-info) from ``target``."""
    for name in names:
        for info in target.glob(f"{name}-*.dist-info"):
            top_level = info / "top_level.txt"
            packages = top_level.read_text().split() if top_level.exists() else [name]
            for package in packages:
                shutil.rmtree(target / package, ignore_errors=True)
            shutil.rmtree(info, ignore_errors=True)
        shutil.rmtree(target / name, ignore_errors=True)

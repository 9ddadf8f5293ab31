"""The layer as Lambda mounts it: a read-only copy, from the built zip or from the sources.

Lambda mounts layers at ``/opt`` and the function's code at ``/var/task`` read-only, so Python
cannot write ``__pycache__`` there and recompiles every source it imports on each cold start,
unless the layer ships ``.pyc`` files. ``make layer`` builds a zip with unchecked-hash ``.pyc``
for every CPython 3.11-3.14 on the build machine: when that zip is built and holds ``.pyc``
for the interpreter the bench starts our runtime with, "as deployed" is that zip unzipped;
otherwise it is the layer's sources, and the bench says so. Start-up is therefore measured on
copies like these, never on a checkout whose ``__pycache__`` earlier runs have filled.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from streamlab.bench.clients import HANDLERS_DIR, LAYER_DIR, REPO_ROOT

PACKAGE_DIR = LAYER_DIR / "python" / "lambda_streaming"


@dataclass(frozen=True)
class DeployedTree:
    layer: Path  # our layer as deployed: the built zip's content, or its sources alone
    sources: Path  # the layer's sources only, as deploying a checkout without a build gives
    task_root: Path  # the bench handlers, sources only, as /var/task
    origin: str = "the layer's sources"  # where ``layer`` came from, for the report


def layer_zip() -> Path:
    """Where ``make layer`` writes the zip of the current version."""
    text = (PACKAGE_DIR / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    version = found[1] if found else "unknown"
    return REPO_ROOT / "dist" / f"lambda-streaming-{version}-layer.zip"


@contextlib.contextmanager
def deployed_tree(python: str) -> Iterator[DeployedTree]:
    """Read-only copies of the layer (as deployed, and sources only) and of the bench handlers
    for a runtime started with ``python``; removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="streamlab-deployed-"))
    try:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(LAYER_DIR, root / "sources", ignore=ignore)
        shutil.copytree(HANDLERS_DIR, root / "task", ignore=ignore)
        tag = _cache_tag(python)
        usable, why = _usable_zip(layer_zip(), tag)
        if not usable and "make layer" in why:  # not built, or built from other sources
            build_layer(layer_zip())
            usable, why = _usable_zip(layer_zip(), tag)
        if usable:
            unzip_layer(layer_zip(), root / "layer")
            tree = DeployedTree(root / "layer", root / "sources", root / "task", why)
        else:
            tree = DeployedTree(root / "sources", root / "sources", root / "task", why)
        _make_read_only(root)
        yield tree
    finally:
        _make_writable(root)
        shutil.rmtree(root, ignore_errors=True)


def build_layer(archive: Path) -> None:
    """``make layer``: the zip of today's sources, with .pyc for every CPython found here."""
    print(f"building {os.path.relpath(archive, REPO_ROOT)} (make layer) ...", flush=True)
    subprocess.run(
        [sys.executable, str(LAYER_DIR / "build_layer.py"), "--zip", str(archive)],
        check=True,
        capture_output=True,
        timeout=300,
    )


def _cache_tag(python: str) -> str:
    done = subprocess.run(
        [python, "-I", "-c", "import sys; print(sys.implementation.cache_tag)"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


def _usable_zip(archive: Path, tag: str) -> tuple[bool, str]:
    """Whether ``archive`` holds today's sources and ``.pyc`` for ``tag``; and what was used."""
    shown = os.path.relpath(archive, REPO_ROOT)
    if not archive.is_file():
        return False, f"the layer's sources, no .pyc ({shown} not built: make layer)"
    with zipfile.ZipFile(archive) as opened:
        names = set(opened.namelist())
        if f"python/lambda_streaming/runtime/__pycache__/bootstrap.{tag}.pyc" not in names:
            return False, f"the layer's sources, no .pyc ({shown} has none for {tag})"
        for source in [LAYER_DIR / "stream-bootstrap", *PACKAGE_DIR.rglob("*.py")]:
            name = source.relative_to(LAYER_DIR).as_posix()
            if name not in names or opened.read(name) != source.read_bytes():
                return False, f"the layer's sources, no .pyc ({shown} is stale: make layer)"
    return True, f"{shown} (with .pyc for {tag})"


def unzip_layer(archive: Path, target: Path) -> None:
    """As Lambda extracts a layer: the permissions the zip holds (zipfile alone drops them)."""
    with zipfile.ZipFile(archive) as opened:
        for info in opened.infolist():
            path = Path(opened.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


def _make_read_only(root: Path) -> None:
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(directory, name)
            mode = os.stat(path).st_mode
            os.chmod(path, mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        os.chmod(directory, 0o555)


def _make_writable(root: Path) -> None:
    for directory, _, files in os.walk(root):
        os.chmod(directory, 0o755)
        for name in files:
            path = os.path.join(directory, name)
            os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)

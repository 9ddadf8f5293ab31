"""The layer as Lambda mounts it: a read-only copy, with or without compiled ``.pyc`` files.

Lambda mounts layers at ``/opt`` and the function's code at ``/var/task`` read-only, so Python
cannot write ``__pycache__`` there and recompiles every source it imports on each cold start,
unless the build shipped ``.pyc`` files. Start-up is therefore measured on copies like these,
never on a checkout whose ``__pycache__`` earlier runs have filled.
"""

from __future__ import annotations

import compileall
import contextlib
import os
import py_compile
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from streamlab.bench.clients import HANDLERS_DIR, LAYER_DIR


@dataclass(frozen=True)
class DeployedTree:
    layer: Path  # the layer's sources only, as a checkout deploys it
    layer_pyc: Path  # the same with unchecked-hash .pyc beside them, as `sam build` can ship it
    task_root: Path  # the bench handlers, sources only, as /var/task


@contextlib.contextmanager
def deployed_tree() -> Iterator[DeployedTree]:
    """Read-only copies of the layer (twice) and of the bench handlers, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="streamlab-deployed-"))
    try:
        tree = DeployedTree(root / "layer", root / "layer-pyc", root / "task")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for source, target in ((LAYER_DIR, tree.layer), (LAYER_DIR, tree.layer_pyc)):
            shutil.copytree(source, target, ignore=ignore)
        shutil.copytree(HANDLERS_DIR, tree.task_root, ignore=ignore)
        compileall.compile_dir(
            tree.layer_pyc,
            quiet=1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        _make_read_only(root)
        yield tree
    finally:
        _make_writable(root)
        shutil.rmtree(root, ignore_errors=True)


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
            os.chmod(os.path.join(directory, name), 0o644)

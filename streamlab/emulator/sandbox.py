"""The directories a function's process sees in place of Lambda's ``/opt``, ``/var/task``
and ``/var/runtime``, and the interpreter it runs with.

One per function, in a temporary directory, made of symlinks into the function's code, its
layers and the provisioning cache (``provision.py``), so edits to code and layers show up on
the next cold start:

- ``opt/``: the layers merged, later layers winning; a public layer given by ARN
  (Powertools) comes from the cache; an unknown ARN is skipped with a warning;
- ``task/``: only when the code has a ``requirements.txt``: the installed packages with the
  code on top, as ``sam build`` bundles them; otherwise the code directory itself;
- ``runtime/``: the stock client from the cache plus a ``bootstrap.py`` that does what
  Lambda's ``/var/runtime/bootstrap.py`` does (docs/protocol.md, "On the managed Python
  runtime"): the task root,
  ``/opt/python/lib/python3.X/site-packages``, ``/opt/python`` and the runtime's
  site-packages in front of ``/var/runtime``, then ``awslambdaric``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from streamlab.emulator import provision, streaming_layer
from streamlab.emulator.interpreters import local_interpreter
from streamlab.emulator.invocation import FunctionSpec
from streamlab.emulator.launch import Isolation, merge_tree

log = logging.getLogger(__name__)

BOOTSTRAP = '''\
"""Lambda's /var/runtime/bootstrap.py, locally (written by streamlab's emulator)."""
import os
import site
import sys

OPT = {opt!r}
RUNTIME_SITE_PACKAGES = {site_packages!r}


def _lambda_path():
    version = "python%d.%d" % sys.version_info[:2]
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    python = os.path.join(OPT, "python")
    return [
        task_root,
        os.path.join(python, "lib", version, "site-packages"),
        python,
        RUNTIME_SITE_PACKAGES,
    ]


def main():
    paths = _lambda_path()
    for path in reversed(paths):
        while path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    for path in paths:
        if os.path.isdir(path):
            site.addsitedir(path)  # already on sys.path: this only runs its .pth files
    os.environ["PYTHONPATH"] = os.environ.get("LAMBDA_RUNTIME_DIR", os.path.dirname(__file__))
    from awslambdaric.__main__ import main as stock_main

    stock_main([sys.argv[0], os.environ["_HANDLER"]])


if __name__ == "__main__":
    main()
'''


class Sandbox:
    """A function's stand-ins for /opt, /var/task and /var/runtime, and its interpreter.

    ``isolated=False`` (``--use-venv``): only ``opt/``; the process runs on the emulator's
    own virtual environment, as before isolation existed.
    """

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        isolated: bool = True,
        install_requirements: bool = True,
        notify: Callable[[str], None] = provision._print,
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix=f"streamlab-{_safe(spec.name)}-")
        root = Path(self._tmp.name)
        self.opt_dir = root / "opt"
        self.opt_dir.mkdir()
        self.isolation: Isolation | None = None
        try:
            python_runtime = spec.runtime.startswith("python")
            runtime = (
                provision.runtime_set(spec.runtime, notify) if isolated and python_runtime else None
            )
            version = runtime.interpreter.version if runtime else local_interpreter().version
            for layer in self._layers(spec, version, notify, resolve_arns=isolated):
                merge_tree(layer.resolve(), self.opt_dir)
            if runtime is None:
                return
            task_dir = None
            requirements = spec.code_dir / "requirements.txt"
            if install_requirements and requirements.is_file():
                task_dir = root / "task"
                task_dir.mkdir()
                merge_tree(provision.requirements_dir(requirements, version, notify), task_dir)
                merge_tree(spec.code_dir.resolve(), task_dir)
            runtime_dir = root / "runtime"
            runtime_dir.mkdir()
            merge_tree(runtime.runtime_dir, runtime_dir)
            (runtime_dir / "bootstrap.py").write_text(
                BOOTSTRAP.format(opt=str(self.opt_dir), site_packages=str(runtime.site_packages))
            )
            self.isolation = Isolation(
                python=runtime.python,
                bin_dir=runtime.bin_dir,
                runtime_dir=runtime_dir,
                task_dir=task_dir,
            )
        except BaseException:
            self._tmp.cleanup()
            raise

    @staticmethod
    def _layers(
        spec: FunctionSpec,
        python_version: str,
        notify: Callable[[str], None],
        *,
        resolve_arns: bool,
    ) -> list[Path]:
        remote = dict(spec.remote_layers)  # position among the function's layers -> ARN
        local = iter(spec.layer_dirs)
        layers: list[Path] = []
        for position in range(len(spec.layer_dirs) + len(remote)):
            arn = remote.get(position)
            if arn is None:
                layers.append(next(local))
                continue
            found = streaming_layer.local_layer(arn, notify) or (
                provision.powertools_layer(arn, python_version, notify) if resolve_arns else None
            )
            if found is None:
                # Nothing is downloaded from AWS: what such a layer provides is missing here.
                log.warning("Remote layer %s (%s) skipped: not downloaded", arn, spec.name)
            else:
                layers.append(found)
        return layers

    def cleanup(self) -> None:
        self._tmp.cleanup()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)

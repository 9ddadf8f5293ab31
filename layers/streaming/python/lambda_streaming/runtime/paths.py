"""The handler's ``sys.path``, as the stock ``/var/runtime/bootstrap.py`` builds it.

Lambda starts the stock bootstrap as a script, so its directory (``LAMBDA_RUNTIME_DIR``,
``/var/runtime``, where the managed runtime keeps packages such as ``snapshot_restore_py``) is
``sys.path[0]``; it then puts the task root, the layers' ``/opt/python`` directories and the
interpreter's own ``site-packages`` in front, runs their ``.pth`` files, and gives child
processes ``PYTHONPATH=$LAMBDA_RUNTIME_DIR``. A user-set ``PYTHONPATH`` keeps only the task root.
We replace that script, so we do the same; a handler cannot tell the difference.

The layer's own directory stands in for ``/opt`` (on Lambda it is ``/opt``), so a checkout or an
emulator's merged ``/opt`` gives the same order with local directories.
"""

from __future__ import annotations

import os
import site  # imported by the interpreter at start-up already: free
import sys


def lambda_sys_path(
    layer_dir: str, environ: os._Environ[str] | dict[str, str], path: list[str]
) -> list[str]:
    """The entries to put in front of ``path`` (whose slot 0 is the wrapper's), stock order.

    ``[LAMBDA_TASK_ROOT, OPT/python/lib/pythonX.Y/site-packages, OPT/python,
    PREFIX/lib/pythonX.Y/site-packages, LAMBDA_RUNTIME_DIR, <the interpreter's own path>...]``
    """
    version = "python{}.{}".format(*sys.version_info[:2])
    front: list[str] = []
    task_root = environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        front.append(task_root)
    if "PYTHONPATH" not in environ:
        opt_python = os.path.join(layer_dir, "python")
        front += [
            os.path.join(opt_python, "lib", version, "site-packages"),
            opt_python,
            # /var/lang/lib/python3.X/site-packages on Lambda, where the interpreter's prefix is
            # /var/lang; a virtual environment's own site-packages elsewhere.
            os.path.join(sys.prefix, "lib", version, "site-packages"),
        ]
    runtime_dir = environ.get("LAMBDA_RUNTIME_DIR")
    rest = path[1:]  # slot 0: the directory the wrapper started us from, as the script's dir
    return [*front, *([runtime_dir] if runtime_dir else []), *rest]


def set_lambda_paths(layer_dir: str) -> None:
    """Give the handler the stock ``sys.path`` and child processes the stock ``PYTHONPATH``.

    Runs once ``lambda_streaming`` is imported: its submodules resolve through the package's own
    ``__path__``, so the layer directory need not stay in the slot the wrapper gave it.
    """
    environ = os.environ
    pythonpath_set = "PYTHONPATH" in environ
    sys.path[:] = lambda_sys_path(layer_dir, environ, sys.path)
    # Already on sys.path: addsitedir only runs their .pth files, as the stock bootstrap does.
    task_root = environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        site.addsitedir(task_root)
    if not pythonpath_set:
        opt_python = os.path.join(layer_dir, "python")
        version = "python{}.{}".format(*sys.version_info[:2])
        site.addsitedir(os.path.join(opt_python, "lib", version, "site-packages"))
        site.addsitedir(opt_python)
        runtime_dir = environ.get("LAMBDA_RUNTIME_DIR")
        if runtime_dir:
            environ["PYTHONPATH"] = runtime_dir

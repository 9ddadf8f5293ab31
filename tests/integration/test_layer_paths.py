"""The handler's sys.path and PYTHONPATH are the stock bootstrap's, with local stand-ins.

On python3.13 the stock ``/var/runtime/bootstrap.py`` gives a handler
``['/var/task', '/opt/python/lib/python3.13/site-packages', '/opt/python',
'/var/lang/lib/python3.13/site-packages', '/var/runtime', '/var/lang/lib/python313.zip', ...]``
and child processes ``PYTHONPATH=/var/runtime``. Here temporary directories stand in for
``/var/task``, ``/opt`` (the layer: ``stream-bootstrap`` and ``python/``) and ``/var/runtime``, and
the interpreter's prefix for ``/var/lang``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.layer_process import HANDLERS, ROOT, stop
from tests.support.layer_runtime_api import RecordingRuntimeApi

LAYER = ROOT / "layers" / "streaming"
VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture
def stand_ins(tmp_path: Path) -> dict[str, Path]:
    """/var/task, /opt and /var/runtime as local directories; the layer linked into /opt."""
    task, opt, runtime = tmp_path / "task", tmp_path / "opt", tmp_path / "runtime"
    site_packages = opt / "python" / "lib" / VERSION / "site-packages"
    for directory in (task, runtime, site_packages):
        directory.mkdir(parents=True)
    (opt / "stream-bootstrap").symlink_to(LAYER / "stream-bootstrap")
    (opt / "python" / "lambda_streaming").symlink_to(LAYER / "python" / "lambda_streaming")
    (task / "probe.py").symlink_to(HANDLERS / "probe.py")
    # a .pth file in the layer's site-packages runs, as the stock bootstrap's addsitedir does
    (site_packages / "probe.pth").write_text("import os; os.environ['PROBE_PTH_MARKER'] = 'ran'\n")
    return {"task": task, "opt": opt, "runtime": runtime}


def run_probe(stand_ins: dict[str, Path], **env: str) -> dict[str, object]:
    with RecordingRuntimeApi() as api:
        wrapper = str(stand_ins["opt"] / "stream-bootstrap")
        process = subprocess.Popen(
            [wrapper, sys.executable, "/var/runtime/bootstrap.py"],
            env={
                **{
                    k: v
                    for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "LAMBDA_", "_HANDLER", "PYTEST"))
                    and k != "PYTHONPATH"
                },
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "_HANDLER": "probe.paths",
                "LAMBDA_TASK_ROOT": str(stand_ins["task"]),
                "LAMBDA_RUNTIME_DIR": str(stand_ins["runtime"]),
                **env,
            },
            cwd=str(stand_ins["task"]),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            request_id = api.push({})
            return api.result(request_id).json()
        finally:
            stop(process)


def test_sys_path_matches_the_stock_bootstrap(stand_ins: dict[str, Path]) -> None:
    got = run_probe(stand_ins)
    sys_path = got["sys_path"]
    assert isinstance(sys_path, list)
    opt_python = stand_ins["opt"] / "python"
    assert sys_path[:5] == [
        str(stand_ins["task"]),
        str(opt_python / "lib" / VERSION / "site-packages"),
        str(opt_python),
        os.path.join(sys.prefix, "lib", VERSION, "site-packages"),  # /var/lang/lib/python3.X/...
        str(stand_ins["runtime"]),
    ]
    # then the interpreter's own path, as a script started by it would have it
    default = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    ).stdout
    assert sys_path[5:] == json.loads(default)
    assert got["pythonpath"] == str(stand_ins["runtime"])
    assert got["child_pythonpath"] == str(stand_ins["runtime"])
    assert got["pth_marker"] == "ran"


def test_a_user_pythonpath_keeps_only_the_task_root_in_front(
    stand_ins: dict[str, Path], tmp_path: Path
) -> None:
    own = tmp_path / "own"
    own.mkdir()
    got = run_probe(stand_ins, PYTHONPATH=str(own))
    sys_path = got["sys_path"]
    assert isinstance(sys_path, list)
    assert sys_path[:3] == [str(stand_ins["task"]), str(stand_ins["runtime"]), str(own)]
    assert str(stand_ins["opt"] / "python") not in sys_path
    assert got["pythonpath"] == str(own)
    assert got["pth_marker"] is None

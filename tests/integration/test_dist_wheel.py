"""``make wheel``: a reproducible wheel with no dependencies that, vendored into a function's
code with ``pip install --target``, streams through ``/var/task/stream-bootstrap``, under AWS's
Runtime Interface Emulator too, with the stock ``sys.path`` (the real ``/opt`` for layers)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.integration.test_layer_rie import (
    NULS,
    clean_env,
    free_port,
    invoke,
    rie_binary,
    running,
)
from tests.support.dist import build_wheel, version
from tests.support.layer_process import HANDLERS, stop
from tests.support.layer_runtime_api import RecordingRuntimeApi

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def task_root(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A function's code with the wheel vendored as any zip or container build does it."""
    task = tmp_path_factory.mktemp("task")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",  # nothing but the wheel: it needs no dependency
            "--no-compile",
            "--target",
            str(task),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("streaming.py", "probe.py"):
        shutil.copy2(HANDLERS / name, task / name)
    return task


def test_the_wheel_is_reproducible_and_needs_nothing(wheel: Path, tmp_path: Path) -> None:
    assert wheel.name == f"lambda_streaming-{version()}-py3-none-any.whl"
    again = build_wheel(tmp_path)
    assert again.read_bytes() == wheel.read_bytes()
    with zipfile.ZipFile(wheel) as opened:
        names = set(opened.namelist())
        metadata = opened.read(f"lambda_streaming-{version()}.dist-info/METADATA").decode()
        mode = opened.getinfo("stream-bootstrap").external_attr >> 16
    assert "Requires-Dist" not in metadata
    assert "Classifier: Programming Language :: Python :: 3.14" in metadata
    assert "lambda_streaming/py.typed" in names
    assert stat.S_IMODE(mode) == 0o755
    assert not any("__pycache__" in name or "/content/" in name for name in names)


def test_installed_it_exposes_its_version_and_types(task_root: Path) -> None:
    assert (task_root / "lambda_streaming" / "py.typed").is_file()
    assert os.access(task_root / "stream-bootstrap", os.X_OK)  # pip keeps the executable bit
    shown = subprocess.run(
        [sys.executable, "-I", "-c", "import lambda_streaming as m; print(m.__version__)"],
        cwd=task_root,
        capture_output=True,
        text=True,
    )
    assert shown.stdout.strip() == version(), shown.stderr


def test_vendored_the_handler_gets_the_stock_sys_path(task_root: Path, tmp_path: Path) -> None:
    """The task root first, then Lambda's real /opt paths (where the function's layers are)."""
    runtime_dir = tmp_path / "runtime"
    runtime_dir.mkdir()
    with RecordingRuntimeApi() as api:
        process = subprocess.Popen(
            [str(task_root / "stream-bootstrap"), sys.executable, "/var/runtime/bootstrap.py"],
            env={
                **clean_env(),
                "AWS_LAMBDA_RUNTIME_API": api.address,
                "_HANDLER": "probe.paths",
                "LAMBDA_TASK_ROOT": str(task_root),
                "LAMBDA_RUNTIME_DIR": str(runtime_dir),
            },
            cwd=str(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            got = api.result(api.push({})).json()
        finally:
            stop(process)
    assert got["sys_path"][:5] == [
        str(task_root),
        f"/opt/python/lib/{VERSION}/site-packages",
        "/opt/python",
        os.path.join(sys.prefix, "lib", VERSION, "site-packages"),
        str(runtime_dir),
    ]
    assert got["sys_path"].count(str(task_root)) == 1
    assert got["pythonpath"] == str(runtime_dir)


def test_vendored_it_streams_under_the_runtime_interface_emulator(
    task_root: Path, tmp_path: Path
) -> None:
    """What ``sam local invoke`` runs, with the vendored wrapper as Lambda's bootstrap runs it."""
    port = free_port()
    command = [
        str(rie_binary()),
        "--runtime-interface-emulator-address",
        f"127.0.0.1:{port}",
        "--runtime-api-address",
        f"127.0.0.1:{free_port()}",
        str(task_root / "stream-bootstrap"),
        sys.executable,
        "/var/runtime/bootstrap.py",
    ]
    env = clean_env(_HANDLER="streaming.http", LAMBDA_TASK_ROOT=str(task_root))
    with running(command, env, tmp_path / "rie.log"):
        response = invoke(port, {})
    assert response.status_code == 200, (response.content, (tmp_path / "rie.log").read_text())
    prelude = (
        b'{"statusCode":201,"headers":{"X-Test":"yes","Content-Type":"text/plain; charset=utf-8"},'
        b'"cookies":["a=1; Path=/"]}'
    )
    assert response.content == prelude + NULS + b"hello world"


VENDORED_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Vendored:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: streaming.http
      CodeUri: code/
      Environment:
        Variables:
          AWS_LAMBDA_EXEC_WRAPPER: /var/task/stream-bootstrap
      FunctionUrlConfig:
        AuthType: NONE
        InvokeMode: RESPONSE_STREAM
"""


def test_vendored_it_streams_under_streamlab_serve(wheel: Path, tmp_path: Path) -> None:
    """The wheel in a function's requirements.txt: serve installs it into the task root as
    ``sam build`` bundles requirements, and the wrapper under /var/task starts the runtime."""
    from tests.support.app_emulator import call, emulator

    shutil.copy2(wheel, tmp_path / wheel.name)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()  # a new wheel, a new install
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "requirements.txt").write_text(f"../{wheel.name} --hash=sha256:{digest}\n")
    shutil.copy2(HANDLERS / "streaming.py", tmp_path / "code" / "streaming.py")
    (tmp_path / "template.yaml").write_text(VENDORED_TEMPLATE)
    with emulator(tmp_path / "template.yaml") as base_url:
        reply = call("GET", f"{base_url}/Vendored/", service="")
    assert reply.status == 201, reply.body
    assert reply.headers["X-Test"] == "yes"
    assert reply.body == b"hello world"


def test_the_vendored_example_builds_with_sam_and_streams_under_the_rie(
    wheel: Path, tmp_path: Path
) -> None:
    """examples/vendored: ``lambda-streaming`` in requirements.txt, built by ``sam build`` through
    pip --target (its Makefile), so /var/task/stream-bootstrap stays executable and Lambda's
    bootstrap can exec it. The package index here has no lambda-streaming: pip finds the wheel."""
    build = tmp_path / "build"
    done = subprocess.run(
        [
            *(Path(sys.executable).with_name("sam"), "build", "--build-dir", build),
            *("--template-file", EXAMPLES / "vendored" / "template.yaml"),
        ],
        env={
            **os.environ,
            "SAM_CLI_TELEMETRY": "0",
            "PIP_FIND_LINKS": str(wheel.parent),
            "PYTHON": sys.executable,
        },
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    task = build / "StreamFunction"
    assert os.access(task / "stream-bootstrap", os.X_OK)
    port = free_port()
    command = [
        str(rie_binary()),
        "--runtime-interface-emulator-address",
        f"127.0.0.1:{port}",
        "--runtime-api-address",
        f"127.0.0.1:{free_port()}",
        str(task / "stream-bootstrap"),
        sys.executable,
        "/var/runtime/bootstrap.py",
    ]
    env = clean_env(_HANDLER="app.handler", LAMBDA_TASK_ROOT=str(task))
    with running(command, env, tmp_path / "rie.log"):
        response = invoke(port, {})
    assert response.status_code == 200, (response.content, (tmp_path / "rie.log").read_text())
    assert response.content.endswith(NULS + b"1\n2\n3\n4\n5\n")

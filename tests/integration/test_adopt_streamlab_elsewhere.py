"""``streamlab`` in another project: its wheel and lambda-streaming's, installed into a fresh
virtual environment, serve a template outside this repository that names the lambda-streaming
layer by ARN, and stream.

To stay quick and offline the fresh environment gets only the two wheels (``--no-index``); the
third-party packages they need come from the dev environment through a path entry (a plain
``.pth`` line: the dev environment's own ``.pth`` files, editable installs among them, are not
read). What this proves is the wheels themselves: every module and data file is in them, the
console script works, and nothing reaches back into the checkout.
"""

from __future__ import annotations

import contextlib
import os
import site
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.integration.test_layer_rie import free_port
from tests.support.dist import build_wheel

ROOT = Path(__file__).resolve().parents[2]
THEIR_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Ticker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: ticker.handler
      CodeUri: code/
      Layers: [arn:aws:lambda:us-east-1:123456789012:layer:lambda-streaming:2]
      Environment:
        Variables:
          AWS_LAMBDA_EXEC_WRAPPER: /opt/stream-bootstrap
      FunctionUrlConfig:
        AuthType: NONE
        InvokeMode: RESPONSE_STREAM
"""
TICKER = """\
import time

from lambda_streaming import StreamingResponse


def handler(event, context):
    def ticks():
        for n in range(3):
            yield f"tick {n}\\n"
            time.sleep(0.2)

    return StreamingResponse(ticks(), media_type="text/plain")
"""


def streamlab_wheel(directory: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(directory), ROOT],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = directory.glob("lambda_python_streaming-*.whl")
    return wheel


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("wheels")
    built = [streamlab_wheel(wheels), build_wheel(wheels)]
    venv = tmp_path_factory.mktemp("elsewhere") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", *built],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(fresh_site) / "zz_dev_dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    return venv


def test_the_installed_wheels_stand_alone(fresh_venv: Path, tmp_path: Path) -> None:
    shown = subprocess.run(
        [
            str(fresh_venv / "bin" / "python"),
            "-c",
            "import lambda_streaming, streamlab; print(lambda_streaming.__file__); "
            "print(streamlab.__file__)",
        ],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    for path in shown.stdout.split():
        assert path.startswith(str(fresh_venv)), path  # not the checkout's


def test_streamlab_serve_streams_their_template(fresh_venv: Path, tmp_path: Path) -> None:
    project = tmp_path / "their-project"
    (project / "code").mkdir(parents=True)
    (project / "their.yaml").write_text(THEIR_TEMPLATE)
    (project / "code" / "ticker.py").write_text(TICKER)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [fresh_venv / "bin" / "streamlab", "serve", "-t", "their.yaml", "-p", str(port)],
            cwd=project,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while b"[Ticker]" not in log.read_bytes():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        arrivals = []
        started = time.monotonic()
        with requests.get(f"http://127.0.0.1:{port}/Ticker/", stream=True, timeout=30) as reply:
            assert reply.status_code == 200, reply.text
            for line in reply.iter_lines():
                arrivals.append((time.monotonic() - started, line))
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        if process.poll() is None:
            process.kill()
    assert [line for _, line in arrivals] == [b"tick 0", b"tick 1", b"tick 2"]
    assert arrivals[2][0] - arrivals[0][0] >= 0.3, arrivals  # streamed as written
    assert str(ROOT) not in log.read_text()  # the layer came from the fresh environment

"""``python -m streamlab serve`` as a user runs it: banner, streaming, clean SIGTERM/Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT

TEMPLATE = ROOT / "tests" / "fixtures" / "emulator_app" / "template.yaml"


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_streams_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    process, text = _serve_until_banner("--template", str(TEMPLATE))
    try:
        stream_url = re.search(
            r"(http://127\.0\.0\.1:\d+/StreamFunction/)\s+RESPONSE_STREAM\s+NONE", text
        )
        assert stream_url, text
        assert re.search(r"/EchoFunction/\s+BUFFERED\s+AWS_IAM", text), text
        assert "limits as on Lambda (--no-limits lifts the caps)" in text, text
        body = requests.get(stream_url[1], timeout=10).text
        runtime_pid = int(body.splitlines()[0].rsplit(" ", 1)[1])
        process.send_signal(stop_signal)
        assert process.wait(timeout=15) == 0
        assert wait_gone(runtime_pid), "the function's runtime process outlived the emulator"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _serve_until_banner(*args: str, cwd: Path = ROOT) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlab", "serve", "--port", "0", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C"):
            break
    return process, "".join(lines)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_use_venv_and_no_limits_say_so_at_start() -> None:
    process, banner = _serve_until_banner("--template", str(TEMPLATE), "--use-venv", "--no-limits")
    try:
        assert "--use-venv: functions see this virtual environment" in banner, banner
        assert "limits lifted (--no-limits)" in banner, banner
        assert "Ctrl-C to stop" in banner
    finally:
        _stop(process)


def test_build_dir_runs_the_built_artifacts(tmp_path: Path) -> None:
    """As `sam build` leaves them: .aws-sam/build/template.yaml and one folder per function
    with its dependencies inside; the emulator installs nothing then."""
    build = tmp_path / ".aws-sam" / "build"
    code = build / "BuiltFunction"
    code.mkdir(parents=True)
    (build / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  BuiltFunction:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Runtime: python3.13\n"
        "      CodeUri: BuiltFunction\n"
        "      Handler: app.handler\n"
        "      FunctionUrlConfig: {AuthType: NONE, InvokeMode: BUFFERED}\n"
    )
    (code / "app.py").write_text(
        "import bundled\n\n\n"
        "def handler(event, context):\n"
        '    return {"statusCode": 200, "body": bundled.VALUE}\n'
    )
    (code / "bundled.py").write_text("VALUE = 'from the build'\n")
    # sam build copies requirements.txt too; its packages are already bundled above
    (code / "requirements.txt").write_text("no-such-package-streamlab-test==0.0.0\n")

    missing = tmp_path / "nowhere"
    done = subprocess.run(
        [sys.executable, "-m", "streamlab", "serve", "--build-dir", str(missing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "run `sam build` first" in done.stderr

    process, banner = _serve_until_banner("--build-dir", str(build))
    try:
        url = re.search(r"(http://127\.0\.0\.1:\d+/BuiltFunction/)", banner)
        assert url, banner
        reply = requests.get(url[1], timeout=30)
        assert reply.status_code == 200 and reply.text == "from the build"
    finally:
        _stop(process)


def test_serve_prints_and_serves_each_rest_api_stage() -> None:
    template = ROOT / "tests" / "fixtures" / "rest_app" / "template.yaml"
    process, banner = _serve_until_banner("--template", str(template), "--no-auth")
    try:
        # One line per stage, like a Function URL's: base URL first, [LogicalId] last.
        implicit = re.search(
            r"^(http://127\.0\.0\.1:\d+/ServerlessRestApi/Prod/)\s+REST_API\s+NONE\s+"
            r"\[ServerlessRestApi\]$",
            banner,
            re.MULTILINE,
        )
        assert implicit, banner
        assert re.search(
            r"^http://127\.0\.0\.1:\d+/StreamApi/live/\s+REST_API\s+AWS_IAM\|NONE "
            r"\(not enforced: --no-auth\)\s+\[StreamApi\]$",
            banner,
            re.MULTILINE,
        ), banner
        event = requests.get(implicit[1] + "items/7?x=1&x=2", timeout=30).json()
        assert event["pathParameters"] == {"id": "7"}
        assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    finally:
        _stop(process)


@pytest.mark.parametrize("deploy", ["true", "false"])
def test_serve_lists_the_app_rest_stage_only_when_deployed(deploy: str) -> None:
    process, banner = _serve_until_banner(
        "--template",
        "template.yaml",
        "--no-auth",
        "--parameter-overrides",
        f"DeployRestApi={deploy}",
    )
    try:
        assert re.search(r"/SseFunction/\s+RESPONSE_STREAM", banner), banner
        stage = re.search(r"^(http://\S+/StreamingRestApi/prod/)\s+REST_API", banner, re.MULTILINE)
        assert bool(stage) is (deploy == "true"), banner
        base = re.search(r"^(http://127\.0\.0\.1:\d+)/SseFunction/", banner, re.MULTILINE)
        assert base, banner
        reply = requests.get(
            f"{base[1]}/StreamingRestApi/prod/raw?prompt=Why&max_tokens=2", timeout=60
        )
        if deploy == "true":
            assert reply.status_code == 200 and reply.text.startswith("Streaming"), reply.text
        else:
            assert reply.status_code == 404, reply.text
    finally:
        _stop(process)

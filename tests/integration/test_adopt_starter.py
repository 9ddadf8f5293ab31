"""The ``sam init`` starter (examples/starter, a cookiecutter template): generated offline as
``sam init --location`` does it, the new app lints, builds, passes its own tests and streams
through ``streamlab serve`` with the layer given by ARN, as a user outside this repository
has it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.app_emulator import call, emulator

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"
SAM = Path(sys.executable).with_name("sam")
ARN = "arn:aws:lambda:us-east-1:123456789012:layer:lambda-streaming:1"


def sam(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SAM), *args],
        cwd=cwd,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Text and SSE picked, JSON lines left out."""
    out = tmp_path_factory.mktemp("generated")
    context = {"project_name": "my-stream", "jsonl": False, "streaming_layer_arn": ARN}
    done = sam(
        "init",
        "--location",
        str(STARTER),
        "--no-input",
        "--output-dir",
        str(out),
        "--extra-context",
        json.dumps(context),
        cwd=out,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "my-stream"


def test_only_the_picked_formats_are_generated(app: Path) -> None:
    files = sorted(p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file())
    assert "src/sse_stream.py" in files and "src/text_stream.py" in files
    assert not any("jsonl" in name for name in files)
    assert {"events/sse.json", "events/text.json", "tests/test_sse.py"} <= set(files)
    template = (app / "template.yaml").read_text()
    assert "JsonlFunction" not in template and "SseFunction" in template
    for path in app.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert str(ROOT) not in text and "../" not in text, path  # nothing of this repo


def test_the_generated_app_lints_builds_and_passes_its_tests(app: Path, tmp_path: Path) -> None:
    linted = sam("validate", "--lint", cwd=app)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    built = sam("build", "--build-dir", str(tmp_path / "build"), cwd=app)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "build" / "SseFunction" / "sse_stream.py").is_file()
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "2 passed" in tested.stdout


def test_the_generated_app_streams_under_streamlab_serve(app: Path) -> None:
    with emulator(app / "template.yaml") as base_url:
        sse = call("GET", f"{base_url}/SseFunction/?n=4")
        text = call("GET", f"{base_url}/TextFunction/?n=3")
    assert sse.status == 200, sse.body
    assert sse.headers["Content-Type"].startswith("text/event-stream")
    assert sse.body.endswith(b"event: done\ndata: {}\n\n")
    assert sse.arrival(b"id: 3\n") - sse.arrival(b"id: 0\n") >= 0.25  # 100 ms per word
    assert text.body == b"Streaming sends each "

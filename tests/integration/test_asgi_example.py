"""examples/fastapi: served by the emulator from its own template, and built by ``sam build``
for python3.13 arm64 with no container and no local python3.13."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sseclient import SSEClient

from tests.support.app_emulator import call, emulator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fastapi"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with emulator(EXAMPLE / "template.yaml") as url:
        yield url


def test_text_streams_token_by_token(base_url: str) -> None:
    url = f"{base_url}/FastApiFunction/text?prompt=hi&max_tokens=4&token_delay_ms=250"
    reply = call("GET", url)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.headers["Cache-Control"] == "no-cache"
    assert reply.body == b"Streaming sends each token"
    assert reply.arrival(b"token") - reply.arrival(b"Streaming") > 0.5


def test_sse_and_jsonl_from_the_shared_pipeline(base_url: str) -> None:
    reply = call("GET", f"{base_url}/FastApiFunction/sse?prompt=hi&max_tokens=3&token_delay_ms=0")
    events = list(SSEClient([data for _, data in reply.chunks]).events())
    assert [e.event for e in events] == ["status", "message", "message", "message", "done"]
    assert [e.data for e in events[1:4]] == ["Streaming", " sends", " each"]
    assert json.loads(events[-1].data)["reason"] == "complete"
    body = json.dumps({"prompt": "hi", "max_tokens": 2, "format": "jsonl"}).encode()
    reply = call(
        "POST", f"{base_url}/FastApiFunction/prompt", body, **{"Content-Type": "application/json"}
    )
    lines = [json.loads(line) for line in reply.body.splitlines()]
    assert [line["type"] for line in lines] == ["status", "token", "token", "done"]


def test_json_state_cookies_and_errors(base_url: str) -> None:
    index = json.loads(call("GET", f"{base_url}/FastApiFunction/").body)
    assert index["source"] == "builtin"
    first = json.loads(call("GET", f"{base_url}/FastApiFunction/state").body)
    second = json.loads(call("GET", f"{base_url}/FastApiFunction/state").body)
    assert first["environment"] == second["environment"]  # one startup, state kept
    made = call("POST", f"{base_url}/FastApiFunction/session")
    assert made.status == 200
    cookies = made.headers["Set-Cookie"]  # requests joins the two Set-Cookie headers
    assert "session=" in cookies and "theme=dark; Max-Age=3600" in cookies
    session = json.loads(made.body)["session"]
    echoed = call(
        "GET", f"{base_url}/FastApiFunction/session", Cookie=f"session={session}; theme=dark"
    )
    assert json.loads(echoed.body) == {"session": session, "theme": "dark"}
    assert call("GET", f"{base_url}/FastApiFunction/missing").status == 404
    assert call("GET", f"{base_url}/FastApiFunction/text").status == 422  # no prompt


def test_buffered_url_returns_complete_response(base_url: str) -> None:
    reply = call("GET", f"{base_url}/FastApiBufferedFunction/jsonl?prompt=hi&max_tokens=2")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in reply.body.splitlines()]
    assert [line["type"] for line in lines] == ["status", "token", "token", "done"]


@pytest.mark.skipif(shutil.which("make") is None, reason="sam's makefile builder needs make")
def test_sam_build_bundles_arm64_wheels(tmp_path: Path) -> None:
    """From a copy holding only what a clone has: the example and the layers it points at."""
    shutil.copytree(EXAMPLE, tmp_path / "examples" / "fastapi")
    shutil.copytree(ROOT / "layers", tmp_path / "layers")
    shutil.copytree(ROOT / "functions" / "shared", tmp_path / "functions" / "shared")
    sam = Path(sys.executable).parent / "sam"
    env = {**os.environ, "PYTHON": sys.executable, "SAM_CLI_TELEMETRY": "0"}
    started = time.monotonic()
    done = subprocess.run(
        [str(sam), "build", "--template", "examples/fastapi/template.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Build Succeeded" in done.stdout
    built = tmp_path / ".aws-sam" / "build" / "FastApiFunction"
    assert (built / "main.py").is_file()
    assert (built / "fastapi").is_dir() and (built / "sse_starlette").is_dir()
    layer = tmp_path / ".aws-sam" / "build" / "StreamingLayer"
    assert (layer / "stream-bootstrap").is_file()
    assert (layer / "python" / "lambda_streaming" / "asgi" / "handler.py").is_file()
    app_layer = tmp_path / ".aws-sam" / "build" / "AppLayer"
    assert (app_layer / "python" / "token_stream" / "pipeline.py").is_file()
    native = [p.name for p in (built / "pydantic_core").glob("*.so")]
    assert native and all("cpython-313-aarch64-linux-gnu" in name for name in native), native
    assert time.monotonic() - started < 300


def test_rest_stage_streams_with_the_stage_in_urls(base_url: str) -> None:
    stage = f"{base_url}/FastApiRestApi/Prod"
    url = f"{stage}/text?prompt=hi&max_tokens=3&token_delay_ms=250"
    reply = call("GET", url, service="execute-api")
    assert reply.status == 200
    assert reply.body == b"Streaming sends each"
    assert reply.arrival(b"each") - reply.arrival(b"Streaming") > 0.3
    assert call("GET", url).status == 403  # signed for lambda, not execute-api: refused
    openapi = json.loads(call("GET", f"{stage}/openapi.json", service="execute-api").body)
    assert openapi["info"]["title"] == "Streaming FastAPI on AWS Lambda"
    docs = call("GET", f"{stage}/docs", service="execute-api").body
    assert b"/Prod/openapi.json" in docs  # FastAPI builds its URLs on root_path, the stage

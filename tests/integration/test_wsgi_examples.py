"""examples/flask and examples/django: served by the emulator from their own templates (signed
requests, as their AWS_IAM default asks), and built by ``sam build`` for python3.13 arm64
with no container and no local python3.13."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sseclient import SSEClient

from tests.support.app_emulator import call, emulator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def flask_url() -> Iterator[str]:
    with emulator(EXAMPLES / "flask" / "template.yaml") as url:
        yield url


@pytest.fixture(scope="module")
def django_url() -> Iterator[str]:
    with emulator(EXAMPLES / "django" / "template.yaml") as url:
        yield url


def test_flask_text_and_sse_stream_word_by_word(flask_url: str) -> None:
    url = f"{flask_url}/FlaskFunction/text?prompt=hi+there&words=4&delay_ms=250"
    reply = call("GET", url)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.headers["Cache-Control"] == "no-cache"
    assert reply.body == b"hi there Streaming sends"
    assert reply.arrival(b"sends") - reply.arrival(b"hi") > 0.6
    reply = call("GET", f"{flask_url}/FlaskFunction/sse?prompt=hi&words=3&delay_ms=0")
    events = list(SSEClient([data for _, data in reply.chunks]).events())
    assert [(e.event, e.data) for e in events] == [
        ("token", "hi"),
        ("token", "Streaming"),
        ("token", "sends"),
        ("done", '{"words": 3}'),
    ]


def test_flask_post_json_cookies_and_errors(flask_url: str) -> None:
    base = f"{flask_url}/FlaskFunction"
    body = json.dumps({"prompt": "go", "words": 2, "delay_ms": 0, "format": "jsonl"}).encode()
    reply = call("POST", f"{base}/prompt", body, **{"Content-Type": "application/json"})
    assert [json.loads(line)["type"] for line in reply.body.splitlines()] == [
        "token",
        "token",
        "done",
    ]
    assert json.loads(call("GET", f"{base}/items").body)["ok"] is True
    made = call("POST", f"{base}/session")
    assert "session=" in made.headers["Set-Cookie"] and "theme=dark" in made.headers["Set-Cookie"]
    session = json.loads(made.body)["session"]
    echoed = call("GET", f"{base}/session", Cookie=f"session={session}; theme=dark")
    assert json.loads(echoed.body) == {"session": session, "theme": "dark"}
    assert call("GET", f"{base}/text").status == 400  # no prompt
    assert call("GET", f"{base}/missing").status == 404


def test_flask_buffered_url_and_rest_stage(flask_url: str) -> None:
    reply = call("GET", f"{flask_url}/FlaskBufferedFunction/jsonl?prompt=hi&words=2")
    assert reply.status == 200 and reply.headers["Content-Type"] == "application/x-ndjson"
    assert len(reply.body.splitlines()) == 3
    stage = f"{flask_url}/FlaskRestApi/Prod"
    index = json.loads(call("GET", f"{stage}/", service="execute-api").body)
    assert index["script_root"] == "/Prod"
    url = f"{stage}/text?prompt=a&words=3&delay_ms=250"
    reply = call("GET", url, service="execute-api")
    assert reply.body == b"a Streaming sends"
    assert reply.arrival(b"sends") - reply.arrival(b"a") > 0.35
    assert call("GET", url).status == 403  # signed for lambda, not execute-api: refused


def test_django_streaming_http_response_and_ordinary_views(django_url: str) -> None:
    base = f"{django_url}/DjangoFunction"
    reply = call("GET", f"{base}/text?prompt=hi&words=3&delay_ms=250")
    assert reply.status == 200 and reply.body == b"hi Streaming sends"
    assert reply.arrival(b"sends") - reply.arrival(b"hi") > 0.35
    reply = call("GET", f"{base}/sse?prompt=hi&words=2&delay_ms=0")
    events = list(SSEClient([data for _, data in reply.chunks]).events())
    assert [e.event for e in events] == ["token", "token", "done"]
    assert call("GET", f"{base}/hello/caf%C3%A9").body == "<h1>Hello, café!</h1>".encode()
    echoed = call("POST", f"{base}/echo", b'{"a": [1, 2]}')
    assert json.loads(echoed.body) == {"received": {"a": [1, 2]}, "bytes": 13}
    made = call("POST", f"{base}/session")
    assert "HttpOnly" in made.headers["Set-Cookie"] and "theme=dark" in made.headers["Set-Cookie"]
    assert call("GET", f"{base}/nope").status == 404
    assert call("POST", f"{base}/text").status == 405


def test_django_rest_stage_builds_urls_on_the_stage_and_buffered_url(django_url: str) -> None:
    index = json.loads(call("GET", f"{django_url}/DjangoRestApi/Prod/", service="execute-api").body)
    assert index["links"]["text"] == "/Prod/text"  # reverse() on SCRIPT_NAME
    index = json.loads(call("GET", f"{django_url}/DjangoFunction/").body)
    assert index["links"]["text"] == "/text"
    reply = call("GET", f"{django_url}/DjangoBufferedFunction/text?prompt=x&words=2&delay_ms=0")
    assert (reply.status, reply.body) == (200, b"x Streaming")
    assert json.loads(call("GET", f"{django_url}/DjangoBufferedFunction/").body)["invoke_mode"] == (
        "BUFFERED"
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="sam's makefile builder needs make")
@pytest.mark.parametrize(
    ("example", "function", "code", "package"),
    [
        ("flask", "FlaskFunction", "app.py", "flask"),
        ("django", "DjangoFunction", "streaming_site/wsgi.py", "django"),
    ],
)
def test_sam_build_bundles_arm64_wheels(
    tmp_path: Path, example: str, function: str, code: str, package: str
) -> None:
    """From a copy holding only what a clone has: the example and the layer it points at."""
    shutil.copytree(
        EXAMPLES / example,
        tmp_path / "examples" / example,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(ROOT / "layers" / "streaming", tmp_path / "layers" / "streaming")
    sam = Path(sys.executable).parent / "sam"
    env = {**os.environ, "PYTHON": sys.executable, "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run(
        [str(sam), "build", "--template", f"examples/{example}/template.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Build Succeeded" in done.stdout
    built = tmp_path / ".aws-sam" / "build"
    for name in (function, function.replace("Function", "BufferedFunction")):
        assert (built / name / code).is_file()
        assert (built / name / package / "__init__.py").is_file()
    layer = built / "StreamingLayer"
    assert (layer / "stream-bootstrap").is_file()
    assert (layer / "python" / "lambda_streaming" / "wsgi" / "handler.py").is_file()
    if example == "flask":  # MarkupSafe's C speedups: the target's, not this machine's
        native = [p.name for p in (built / function / "markupsafe").glob("*.so")]
        assert native and all("cpython-313-aarch64-linux-gnu" in name for name in native), native

"""A header or cookie that would break HTTP framing never reaches the wire.

``HttpResponseStream.from_`` refuses it in the handler, before the first byte: the runtime
reports the error on ``/error`` (no streamed POST starts), and a Function URL client gets a 502
while the log names the header. Checked through the real runtime, then through ``streamlab
serve`` as a user runs it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import ROOT
from tests.support.layer_process import LayerHarness

TEMPLATE = ROOT / "tests" / "fixtures" / "header_app" / "template.yaml"
APP = ROOT / "tests" / "fixtures" / "header_app" / "src"

BAD = [
    ({"value": "a\r\nSet-Cookie: injected=1"}, "header 'X-Chosen' has CR, LF or NUL"),
    ({"value": "nul\x00"}, "header 'X-Chosen' has CR, LF or NUL"),
    ({"value": "lf\nonly"}, "header 'X-Chosen' has CR, LF or NUL"),
    ({"name": "X Bad"}, "header name 'X Bad' is not an HTTP token"),
    ({"name": "X-Bad\r\nInjected"}, "header name 'X-Bad\\r\\nInjected' is not an HTTP token"),
    ({"name": "X:Colon"}, "header name 'X:Colon' is not an HTTP token"),
    ({"cookie": "a=1\r\nSet-Cookie: b=2"}, "cookie 'a=1\\r\\nSet-Cookie: b=2' contains CR"),
]  # fmt: skip


@pytest.mark.parametrize(("query", "message"), BAD)
def test_runtime_reports_the_bad_prelude_before_any_byte(
    layer: LayerHarness, query: dict[str, str], message: str
) -> None:
    layer.start("headers.handler", LAMBDA_TASK_ROOT=str(APP))
    request_id = layer.api.push({"queryStringParameters": query})
    got = layer.api.result(request_id)
    assert got.kind == "error"
    assert got.json()["errorType"] == "ValueError"
    assert got.json()["errorMessage"].startswith(message)
    assert not [r for r in layer.api.received if r.kind == "response"]  # no stream was opened
    following = layer.api.push({"queryStringParameters": {"value": "fine"}})
    assert layer.api.result(following).kind == "response"  # and the runtime goes on


@pytest.fixture(scope="module")
def serve() -> Iterator[tuple[str, list[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlab", "serve", "--template", str(TEMPLATE), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.match(r"(http://127\.0\.0\.1:\d+/HeaderFunction/)\s", line)
        url = found[1] if found else None
    assert url, "".join(lines)
    import threading

    def drain() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line)

    threading.Thread(target=drain, daemon=True).start()
    try:
        yield url, lines
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.mark.parametrize(("query", "message"), BAD)
def test_function_url_answers_502_and_the_log_names_the_header(
    serve: tuple[str, list[str]], query: dict[str, str], message: str
) -> None:
    url, lines = serve
    response = requests.get(url, params=query, timeout=30)
    assert response.status_code == 502
    assert response.content == b"Internal Server Error"  # AWS's body, nothing of the handler's
    assert "injected" not in str(response.headers).lower()
    deadline = time.monotonic() + 5
    while not any(message in line and "502" in line for line in list(lines)):
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.05)
    assert any(message in line and "[ERROR] ValueError" in line for line in list(lines))


def test_function_url_good_header_control(serve: tuple[str, list[str]]) -> None:
    url, _ = serve
    response = requests.get(url, params={"value": "fine", "cookie": "a=1; Path=/"}, timeout=30)
    assert response.status_code == 200
    assert response.headers["X-Chosen"] == "fine"
    assert response.cookies["a"] == "1"
    assert response.content == b"sent\n"

"""Our streamed responses against AWS's own Node.js runtime client, byte for byte.

Both runtimes run the same handlers (tests/fixtures/node_parity) against one recording Runtime
API, and the chunked bodies they post are compared: mid-stream writes are framed exactly as
Node frames them (the prelude and its delimiter a chunk each, then a chunk per write); a body
known whole at its end goes out as one chunk (Lambda promises no chunk fidelity either way).
AWS's Node client (npm aws-lambda-ric) is the reference implementation of response streaming;
it builds natively, so it is installed by
``make bench`` (or ``npm install --prefix .bench aws-lambda-ric@4.0.2``), not by ``make test``:
without it these tests are skipped.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.layer_runtime_api import Received, RecordingRuntimeApi

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "tests" / "fixtures" / "node_parity"
NODE_CLIENT = ROOT / ".bench" / "node_modules" / "aws-lambda-ric" / "index.mjs"
STREAM_BOOTSTRAP = ROOT / "layers" / "streaming" / "stream-bootstrap"

pytestmark = pytest.mark.skipif(
    not NODE_CLIENT.exists() or shutil.which("node") is None,
    reason="AWS's Node.js runtime client is not built: run `make bench` once",
)


def _post(runtime: str, handler: str) -> Received:
    """The response POST the runtime makes for one invocation of ``parity.<handler>``."""
    with RecordingRuntimeApi() as api:
        env = {
            "PATH": os.environ["PATH"],
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "_HANDLER": f"parity.{handler}",
            "LAMBDA_TASK_ROOT": str(HANDLERS),
            "AWS_LAMBDA_FUNCTION_NAME": "parity",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/parity",
            "AWS_LAMBDA_LOG_STREAM_NAME": "parity",
        }
        argv = (
            ["node", str(NODE_CLIENT)]
            if runtime == "node"
            else [str(STREAM_BOOTSTRAP), sys.executable, "/var/runtime/bootstrap.py"]
        )
        process = subprocess.Popen(
            argv, env=env, cwd=HANDLERS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            return api.result(api.push({}), timeout=20)
        finally:
            process.kill()
            process.wait()


def _body(post: Received) -> bytes:
    """The chunked body as sent, framing included, up to the last chunk's size line."""
    body = post.raw.split(b"\r\n\r\n", 1)[1]
    return body[: body.index(b"\r\n0\r\n") + 5]


def _head(post: Received) -> dict[str, str]:
    names = ("Lambda-Runtime-Function-Response-Mode", "Transfer-Encoding", "Content-Type")
    head = {name: post.header(name) or "" for name in names}
    head["Trailer"] = ", ".join(sorted((post.header("Trailer") or "").split(", ")))
    return head


def test_a_streamed_response_is_framed_exactly_as_node_frames_it() -> None:
    node, ours = _post("node", "ok"), _post("ours", "ok")
    assert _head(ours) == _head(node)
    assert _body(ours) == _body(node)
    assert _body(ours) == (
        b'42\r\n{"statusCode":201,"headers":{"X-A":"1"},"cookies":["a=1; Path=/"]}\r\n'
        b"8\r\n\0\0\0\0\0\0\0\0\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n"
    )


def test_an_error_after_the_first_byte_ends_in_the_same_trailers() -> None:
    node, ours = _post("node", "boom"), _post("ours", "boom")
    assert _body(ours) == _body(node)
    assert [name for name, _ in ours.trailers] == [name for name, _ in node.trailers]
    (_, node_type), (_, node_body) = node.trailers
    (_, our_type), (_, our_body) = ours.trailers
    assert our_type == node_type == "Error"
    node_error, our_error = (json.loads(base64.b64decode(b)) for b in (node_body, our_body))
    assert our_error["errorMessage"] == node_error["errorMessage"] == "bad\nthing"
    assert our_error["errorType"] == node_error["errorType"]


def test_an_empty_body_keeps_its_status_where_node_loses_it() -> None:
    node, ours = _post("node", "empty"), _post("ours", "empty")
    # Node sends the prelude only on the first write, so a Function URL would answer 200 here.
    assert node.raw.split(b"\r\n\r\n", 1)[1] == b"0\r\n\r\n"
    # known whole at its end, ours is one chunk (boundaries carry no meaning to Lambda)
    assert _body(ours) == b'1a\r\n{"statusCode":204}\0\0\0\0\0\0\0\0\r\n0\r\n'

"""lambda_streaming.asgi through the real stream-bootstrap process and a recording Runtime API:
FastAPI, Starlette and a bare ASGI app, payload 2.0 and 1.0 events, streamed and BUFFERED."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import asgi_events as ev
from tests.support.layer_process import LayerHarness, buffered_result, call, split

APPS = Path(__file__).resolve().parents[1] / "fixtures" / "asgi_apps"


def start(layer: LayerHarness, module: str, **env: str) -> Any:
    return layer.start(f"{module}.handler", LAMBDA_TASK_ROOT=str(APPS), **env)


def test_fastapi_stream_parts_arrive_as_sent(layer: LayerHarness) -> None:
    start(layer, "fastapi_app")
    got = call(layer, ev.v2("GET", "/parts", "count=3&gap_ms=300"))
    prelude, body = split(got)
    assert prelude == {"statusCode": 200, "headers": {"content-type": "text/plain; charset=utf-8"}}
    assert body == b"part 0\npart 1\npart 2\n"
    arrivals = {data: at for at, data in got.data_events}
    t0, t1, t2 = (arrivals[b"part %d\n" % i] for i in range(3))
    assert 0.25 < t1 - t0 < 0.6 and 0.25 < t2 - t1 < 0.6  # each part on its own, as sent
    assert got.trailers == []


def test_json_route_payload_2_and_1_with_root_path_and_query(layer: LayerHarness) -> None:
    start(layer, "fastapi_app")
    prelude, body = split(call(layer, ev.v2("GET", "/json", "a=1&a=2&b=x%20y")))
    assert prelude["statusCode"] == 200
    assert json.loads(body) == {
        "hello": "world",
        "path": "/json",
        "root_path": "",
        "query": [["a", "1"], ["a", "2"], ["b", "x y"]],
    }
    # REST: API Gateway's path leaves out the stage; routes still match, URLs keep it.
    prelude, body = split(call(layer, ev.v1("GET", "/json", "a=1&a=2&b=x y")))
    assert "cookies" not in prelude
    assert json.loads(body) == {
        "hello": "world",
        "path": "/Prod/json",
        "root_path": "/Prod",
        "query": [["a", "1"], ["a", "2"], ["b", "x y"]],
    }


def test_background_task_runs_before_next(layer: LayerHarness) -> None:
    """The response ends when the app sends it; the invocation (``next``) only once the app's
    background tasks are done, so Lambda cannot freeze them half-way."""
    start(layer, "fastapi_app")
    got = call(layer, ev.v2("GET", "/background", "seconds=0.3"))
    assert split(got)[1] == b'{"queued":true}'
    following = layer.api.wait_count("next", 2)[1]
    assert following.started - got.ended >= 0.25


@pytest.mark.parametrize("make", [ev.v2, ev.v1], ids=["2.0", "1.0"])
def test_post_body_base64_decoded(layer: LayerHarness, make: Any) -> None:
    start(layer, "fastapi_app")
    payload = bytes(range(256)) * 40
    event = make("POST", "/echo", body=payload)
    event["headers"]["content-type"] = "application/octet-stream"
    if "multiValueHeaders" in event:
        event["multiValueHeaders"]["content-type"] = ["application/octet-stream"]
    _, body = split(call(layer, event))
    assert json.loads(body) == {
        "length": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "content_type": "application/octet-stream",
    }


def test_lifespan_runs_once_and_state_reaches_requests(layer: LayerHarness) -> None:
    process = start(layer, "fastapi_app")
    for _ in range(3):
        _, body = split(call(layer, ev.v2("GET", "/state")))
        assert json.loads(body) == {"greeting": "hello from lifespan", "startups": 1}
    out, _ = layer.stop(process)
    assert out.count("lifespan startup") == 1


def test_sigterm_runs_lifespan_shutdown_then_exits(layer: LayerHarness, tmp_path: Path) -> None:
    marker = tmp_path / "shutdown"
    process = start(layer, "fastapi_app", SHUTDOWN_MARKER=str(marker))
    split(call(layer, ev.v2("GET", "/state")))
    layer.api.wait("next")  # idle again, waiting for the next event
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == -signal.SIGTERM  # the default action, after the shutdown
    assert marker.read_text() == "shutdown ran\n"


def test_two_set_cookie_headers(layer: LayerHarness) -> None:
    start(layer, "fastapi_app")
    cookies = ["first=1; Path=/; SameSite=lax", "second=2; HttpOnly; Path=/; SameSite=lax"]
    prelude, _ = split(call(layer, ev.v2("GET", "/cookies")))
    assert prelude["cookies"] == cookies
    assert "set-cookie" not in {k.lower() for k in prelude["headers"]}
    prelude, _ = split(call(layer, ev.v1("GET", "/cookies")))
    assert prelude["multiValueHeaders"] == {"Set-Cookie": cookies}
    assert "cookies" not in prelude
    # and request cookies (2.0's cookies array) reach the app as one Cookie header
    _, body = split(call(layer, ev.v2("GET", "/request-cookies", cookies=["a=1", "b=two"])))
    assert json.loads(body) == {"a": "1", "b": "two"}


def test_not_found_and_exception_before_start(layer: LayerHarness) -> None:
    process = start(layer, "fastapi_app")
    prelude, body = split(call(layer, ev.v2("GET", "/nope")))
    assert (prelude["statusCode"], json.loads(body)) == (404, {"detail": "Not Found"})
    got = call(layer, ev.v2("GET", "/boom"))
    prelude, body = split(got)
    assert (prelude["statusCode"], body) == (500, b"Internal Server Error")
    assert got.trailers == []  # the response itself is complete and well-formed
    split(call(layer, ev.v2("GET", "/json")))  # the error is logged before the next event
    out, err = layer.stop(process)
    assert "RuntimeError: boom" in out + err  # and the traceback is in the log


def test_exception_mid_stream_ends_with_error_trailers(layer: LayerHarness) -> None:
    start(layer, "fastapi_app")
    got = call(layer, ev.v2("GET", "/stream-boom"))
    prelude, body = split(got)
    assert (prelude["statusCode"], body) == (200, b"first\n")
    trailers = dict(got.trailers)
    assert trailers["Lambda-Runtime-Function-Error-Type"] == "ValueError"
    error = json.loads(base64.b64decode(trailers["Lambda-Runtime-Function-Error-Body"]))
    assert error["errorMessage"] == "broke mid-stream"


def test_deadline_near_sends_http_disconnect(layer: LayerHarness) -> None:
    process = start(layer, "fastapi_app")
    deadline_ms = int(time.time() * 1000) + 1500
    got = call(layer, ev.v2("GET", "/until-disconnect"), deadline_ms=deadline_ms)
    _, body = split(got)
    assert got.trailers == []
    assert time.time() * 1000 < deadline_ms  # ended cleanly before the deadline
    assert body.startswith(b"tick 0\n") and body.count(b"tick") >= 5
    split(call(layer, ev.v2("GET", "/json")))
    out, err = layer.stop(process)
    assert "deadline was near" in out + err


def test_starlette_sync_generator_streams_and_path_params(layer: LayerHarness) -> None:
    start(layer, "starlette_app")
    prelude, body = split(call(layer, ev.v1("GET", "/hello/world")))
    assert prelude["headers"]["x-name"] == "yes"
    assert body == b"hello world"
    got = call(layer, ev.v2("GET", "/stream"))
    _, body = split(got)
    assert body == b"line 0\nline 1\nline 2\n"
    arrivals = {data: at for at, data in got.data_events}
    assert arrivals[b"line 2\n"] - arrivals[b"line 0\n"] > 0.5


def test_bare_app_without_lifespan_and_its_scope(layer: LayerHarness) -> None:
    process = start(layer, "raw_app")
    event = ev.v2("GET", "/a%20b/c", "x=1", headers={"x-forwarded-port": "8443"})
    prelude, body = split(call(layer, event))
    assert prelude == {
        "statusCode": 202,
        "headers": {"content-type": "text/plain", "x-repeat": "a, b"},
        "cookies": ["c1=1", "c2=2"],
    }
    scope = eval(body)  # the app's repr() of what it saw
    assert scope["method"] == "GET" and scope["scheme"] == "https"
    assert (scope["path"], scope["raw_path"], scope["root_path"]) == ("/a b/c", b"/a%20b/c", "")
    assert scope["query_string"] == b"x=1" and scope["http_version"] == "1.1"
    assert scope["client"] == ("203.0.113.7", 0)
    assert scope["server"] == ("abc123.lambda-url.us-east-1.on.aws", 8443)
    assert (b"user-agent", b"test") in scope["headers"]
    assert scope["state"] is False  # no lifespan support: no state key
    prelude, _ = split(call(layer, ev.v1("GET", "/x")))
    assert prelude["headers"] == {"content-type": "text/plain"}
    assert prelude["multiValueHeaders"] == {"x-repeat": ["a", "b"], "Set-Cookie": ["c1=1", "c2=2"]}
    prelude, body = split(call(layer, ev.v2("GET", "/silent")))
    assert (prelude["statusCode"], body) == (500, b"Internal Server Error")
    got = call(layer, ev.v2("GET", "/half"))
    assert split(got)[1] == b"half"
    assert dict(got.trailers)["Lambda-Runtime-Function-Error-Type"] == "RuntimeError"
    split(call(layer, ev.v2("GET", "/x")))
    out, err = layer.stop(process)
    assert "ASGI callable returned without starting response" in out + err
    assert "without completing the response" in out + err


def test_not_an_http_event_is_an_error(layer: LayerHarness) -> None:
    start(layer, "fastapi_app")
    got = call(layer, {"Records": []})
    assert got.kind == "error"
    assert got.json()["errorType"] == "BadEvent"


@pytest.fixture
def buffered(layer: LayerHarness) -> LayerHarness:
    start(layer, "fastapi_app", STREAM_INVOKE_MODE="BUFFERED")
    return layer


def test_buffered_mode_returns_complete_responses(buffered: LayerHarness) -> None:
    result = buffered_result(buffered, ev.v2("GET", "/parts", "count=3&gap_ms=50"))
    assert result == {
        "statusCode": 200,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": "part 0\npart 1\npart 2\n",
        "isBase64Encoded": False,
    }
    result = buffered_result(buffered, ev.v2("GET", "/binary"))
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == bytes(range(256))
    result = buffered_result(buffered, ev.v2("GET", "/cookies"))
    assert len(result["cookies"]) == 2 and json.loads(result["body"]) == {"ok": True}
    result = buffered_result(buffered, ev.v2("GET", "/boom"))
    assert (result["statusCode"], result["body"]) == (500, "Internal Server Error")


def test_buffered_mode_rest_proxy_result(buffered: LayerHarness) -> None:
    result = buffered_result(buffered, ev.v1("GET", "/cookies"))
    assert result == {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {
            "Set-Cookie": [
                "first=1; Path=/; SameSite=lax",
                "second=2; HttpOnly; Path=/; SameSite=lax",
            ]
        },
        "body": '{"ok":true}',
        "isBase64Encoded": False,
    }
    result = buffered_result(buffered, ev.v1("GET", "/nope"))
    assert result["statusCode"] == 404


def test_no_asyncio_or_asgi_in_the_runtime_unless_used() -> None:
    import subprocess
    import sys

    layer_python = str(Path(__file__).resolve().parents[2] / "layers" / "streaming" / "python")
    code = (
        "import sys; import lambda_streaming.runtime.loop, lambda_streaming.http.prelude; "
        "print(sorted(m for m in sys.modules if m == 'asyncio' or m.endswith('.asgi')))"
    )
    env = {**os.environ, "PYTHONPATH": layer_python}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "[]", done.stderr


def test_failed_startup_fails_the_request_and_is_retried(layer: LayerHarness) -> None:
    layer.start("lifespan_apps.flaky_handler", LAMBDA_TASK_ROOT=str(APPS))
    got = call(layer, ev.v2("GET", "/attempts"))
    assert got.kind == "error"  # lifespan.startup.failed: no request runs without its startup
    error = got.json()
    assert error["errorType"] == "LifespanFailed"
    assert "database not reachable yet" in error["errorMessage"]
    _, body = split(call(layer, ev.v2("GET", "/attempts")))
    assert json.loads(body) == {"attempts": 2}


def test_lifespan_on_requires_support(layer: LayerHarness) -> None:
    layer.start("lifespan_apps.strict_handler", LAMBDA_TASK_ROOT=str(APPS))
    got = call(layer, ev.v2("GET", "/x"))
    assert got.kind == "error" and got.json()["errorType"] == "LifespanFailed"
    assert "speaks http only" in got.json()["errorMessage"]

"""lambda_streaming.wsgi through the real stream-bootstrap process and a recording Runtime API:
Flask, Django and a bare PEP 3333 app, payload 2.0 and 1.0 events, streamed and BUFFERED."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import asgi_events as ev
from tests.support.layer_process import LayerHarness, buffered_result, call, split
from tests.support.layer_runtime_api import Received

APPS = Path(__file__).resolve().parents[1] / "fixtures" / "wsgi_apps"


def start(layer: LayerHarness, module: str, **env: str) -> Any:
    return layer.start(f"{module}.handler", LAMBDA_TASK_ROOT=str(APPS), **env)


def gaps(got: Received, markers: list[bytes]) -> list[float]:
    arrivals = []
    for marker in markers:
        arrivals.append(next(at for at, data in got.data_events if marker in data))
    return [later - earlier for earlier, later in itertools.pairwise(arrivals)]


@pytest.mark.parametrize("make", [ev.v2, ev.v1], ids=["2.0", "1.0"])
def test_flask_generator_parts_arrive_as_sent(layer: LayerHarness, make: Any) -> None:
    start(layer, "flask_app")
    got = call(layer, make("GET", "/parts", "count=3&gap_ms=300"))
    prelude, body = split(got)
    assert prelude["statusCode"] == 200
    assert prelude["headers"] == {"Content-Type": "text/plain; charset=utf-8"}
    assert body == b"part 0 of /parts\npart 1 of /parts\npart 2 of /parts\n"
    assert all(0.25 < gap < 0.6 for gap in gaps(got, [b"part 0", b"part 1", b"part 2"]))
    assert got.trailers == []


def test_django_streaming_http_response_parts_arrive_as_sent(layer: LayerHarness) -> None:
    start(layer, "django_app")
    got = call(layer, ev.v1("GET", "/parts", "count=3&gap_ms=300"))
    prelude, body = split(got)
    assert prelude["headers"]["Content-Type"] == "text/plain"
    assert body == b"part 0\npart 1\npart 2\n"
    assert all(0.25 < gap < 0.6 for gap in gaps(got, [b"part 0", b"part 1", b"part 2"]))
    _, body = split(call(layer, ev.v1("GET", "/json", "a=1&a=2")))
    assert json.loads(body) == {
        "path": "/Prod/json",
        "path_info": "/json",
        "script_prefix": "/Prod/",  # reverse() builds URLs on the stage
        "query": [["a", "1"], ["a", "2"]],
    }


def test_the_response_ends_before_the_apps_close_runs(layer: LayerHarness) -> None:
    """As gunicorn and Werkzeug: the body's end is the response's end; post-response work in
    ``close()`` (Flask's ``call_on_close``, here 0.4 s) runs after it, before ``next``."""
    start(layer, "flask_app")
    got = call(layer, ev.v2("GET", "/slow-close"))
    assert split(got)[1] == b"done"
    following = layer.api.wait_count("next", 2)[1]
    assert following.connection == got.connection
    assert following.started - got.ended > 0.3


def test_paths_stage_and_query_reach_flask_as_under_a_server(layer: LayerHarness) -> None:
    start(layer, "flask_app")
    event = ev.v1("GET", "/environ/caf%C3%A9/a%2Fb", "x=é")
    _, body = split(call(layer, event))
    assert json.loads(body) == {
        "rest": "café/a/b",
        "path": "/environ/café/a/b",
        "full_path": "/environ/café/a/b?x=%C3%A9",
        "environ": {
            "SCRIPT_NAME": "/Prod",
            "PATH_INFO": "/environ/café/a/b".encode().decode("latin-1"),
            "QUERY_STRING": "x=%C3%A9",
        },
    }


@pytest.mark.parametrize("make", [ev.v2, ev.v1], ids=["2.0", "1.0"])
def test_post_bodies_json_and_binary(layer: LayerHarness, make: Any) -> None:
    start(layer, "flask_app")
    for payload, content_type in (
        (b'{"n": 1}', "application/json"),
        (bytes(range(256)) * 40, "application/octet-stream"),
    ):
        event = make("POST", "/echo", body=payload)
        event["headers"]["content-type"] = content_type
        if "multiValueHeaders" in event:
            event["multiValueHeaders"]["content-type"] = [content_type]
        _, body = split(call(layer, event))
        answer = json.loads(body)
        assert answer["length"] == len(payload)
        assert answer["sha256"] == hashlib.sha256(payload).hexdigest()
        assert answer["content_type"] == content_type


def test_two_set_cookies_per_front_and_request_cookies(layer: LayerHarness) -> None:
    start(layer, "flask_app")
    cookies = ["first=1; Path=/", "second=2; HttpOnly; Path=/"]
    prelude, _ = split(call(layer, ev.v2("GET", "/cookies")))
    assert prelude["cookies"] == cookies
    prelude, _ = split(call(layer, ev.v1("GET", "/cookies")))
    assert prelude["multiValueHeaders"] == {"Set-Cookie": cookies}
    _, body = split(call(layer, ev.v2("GET", "/request-cookies", cookies=["a=1", "b=two"])))
    assert json.loads(body) == {"a": "1", "b": "two"}


def test_head_gets_the_head_and_no_body(layer: LayerHarness) -> None:
    start(layer, "flask_app")
    got = call(layer, ev.v2("HEAD", "/parts", "count=50&gap_ms=300"))
    prelude, body = split(got)
    assert (prelude["statusCode"], body) == (200, b"")
    assert got.ended - got.started < 1.0  # the rest of the body was never made


def test_failure_before_the_first_byte_is_a_plain_500(layer: LayerHarness) -> None:
    process = start(layer, "flask_app")
    got = call(layer, ev.v2("GET", "/early-boom"))
    prelude, body = split(got)
    assert prelude == {"statusCode": 500, "headers": {"Content-Type": "text/plain; charset=utf-8"}}
    assert body == b"Internal Server Error"
    assert got.trailers == []
    assert split(call(layer, ev.v2("GET", "/teapot")))[0]["statusCode"] == 418
    out, err = layer.stop(process)
    assert "Error handling request GET /early-boom" in out + err
    assert "RuntimeError: failed before the first byte" in out + err  # the traceback
    assert "closed /early-boom" in out  # and close() ran


def test_failure_mid_stream_ends_with_error_trailers(layer: LayerHarness) -> None:
    process = start(layer, "flask_app")
    got = call(layer, ev.v2("GET", "/stream-boom"))
    prelude, body = split(got)
    assert (prelude["statusCode"], body) == (200, b"first\n")
    trailers = dict(got.trailers)
    assert trailers["Lambda-Runtime-Function-Error-Type"] == "ValueError"
    error = json.loads(base64.b64decode(trailers["Lambda-Runtime-Function-Error-Body"]))
    assert error["errorMessage"] == "broke mid-stream"
    split(call(layer, ev.v2("GET", "/json")))
    out, _ = layer.stop(process)
    assert "closed /stream-boom" in out


def test_client_gone_closes_the_body_and_the_runtime_serves_on(layer: LayerHarness) -> None:
    layer.api.reset_response_for.add("gone")
    process = start(layer, "flask_app")
    layer.api.push(ev.v2("GET", "/parts", "count=4&gap_ms=200"), request_id="gone")
    _, body = split(call(layer, ev.v2("GET", "/json")))
    assert json.loads(body)["path"] == "/json"
    out, _ = layer.stop(process)
    assert "closed /parts" in out


def test_deadline_near_closes_the_generator_and_ends_cleanly(layer: LayerHarness) -> None:
    process = start(layer, "flask_app")
    deadline_ms = int(time.time() * 1000) + 1500
    got = call(layer, ev.v2("GET", "/until-deadline"), deadline_ms=deadline_ms)
    _, body = split(got)
    assert got.trailers == []
    assert time.time() * 1000 < deadline_ms  # ended cleanly before the deadline
    assert body.startswith(b"tick 0\n") and body.count(b"tick") >= 5 and body.endswith(b"\n")
    split(call(layer, ev.v2("GET", "/json")))
    out, err = layer.stop(process)
    assert "generator closed" in out
    assert "cut short: the function's deadline was near" in out + err


def test_bare_app_write_exc_info_overrun_and_no_start(layer: LayerHarness) -> None:
    process = start(layer, "raw_app")
    prelude, body = split(call(layer, ev.v2("GET", "/write")))
    assert (prelude["statusCode"], body) == (200, b"written, then returned")
    prelude, body = split(call(layer, ev.v2("GET", "/exc-info")))
    assert prelude == {"statusCode": 503, "headers": {"Retry-After": "1"}}
    assert body == b"try again"
    assert split(call(layer, ev.v2("GET", "/overrun")))[1] == b"abcd"
    prelude, body = split(call(layer, ev.v2("GET", "/no-start")))
    assert (prelude["statusCode"], body) == (500, b"Internal Server Error")
    _, body = split(call(layer, ev.v1("POST", "/environ", "q=1", body=b"abc")))
    environ = eval(body.decode())  # the app's repr() of what it saw
    assert environ["REQUEST_METHOD"] == "POST" and environ["CONTENT_LENGTH"] == "3"
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/Prod", "/environ")
    assert environ["wsgi.url_scheme"] == "https" and environ["wsgi.multiprocess"] is True
    assert environ["SERVER_NAME"] == "abc123.execute-api.us-east-1.amazonaws.com"
    layer.api.wait_count("next", 6)  # close() runs after the response ended: let the last one
    out, err = layer.stop(process)
    assert out.count("raw body closed") == 5
    assert "before calling start_response()" in out + err


def test_not_an_http_event_is_an_error(layer: LayerHarness) -> None:
    start(layer, "flask_app")
    got = call(layer, {"Records": []})
    assert got.kind == "error"
    assert got.json()["errorType"] == "BadEvent"


def test_buffered_mode_returns_complete_responses(layer: LayerHarness) -> None:
    start(layer, "flask_app", STREAM_INVOKE_MODE="BUFFERED")
    result = buffered_result(layer, ev.v2("GET", "/parts", "count=3&gap_ms=50"))
    assert result == {
        "statusCode": 200,
        "headers": {"Content-Type": "text/plain; charset=utf-8"},
        "body": "part 0 of /parts\npart 1 of /parts\npart 2 of /parts\n",
        "isBase64Encoded": False,
    }
    result = buffered_result(layer, ev.v2("GET", "/binary"))
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == bytes(range(256))
    result = buffered_result(layer, ev.v2("GET", "/early-boom"))
    assert (result["statusCode"], result["body"]) == (500, "Internal Server Error")
    result = buffered_result(layer, ev.v1("GET", "/cookies"))
    assert result == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Set-Cookie": ["first=1; Path=/", "second=2; HttpOnly; Path=/"]},
        "body": '{"ok":true}\n',
        "isBase64Encoded": False,
    }
    assert buffered_result(layer, ev.v1("GET", "/nope"))["statusCode"] == 404


def test_importing_the_adapter_loads_no_typing_logging_or_asyncio() -> None:
    layer_python = str(Path(__file__).resolve().parents[2] / "layers" / "streaming" / "python")
    code = (
        "import sys; import lambda_streaming.wsgi; "
        "print(sorted(m for m in ('typing', 'logging', 'asyncio', 'urllib.parse') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": layer_python}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "[]", done.stderr

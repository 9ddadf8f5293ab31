"""ASGI apps through the local emulator (Function URLs, real runtime, real sockets), compared
with the same app under uvicorn: what a client sees must be what it would see from a server."""

from __future__ import annotations

import importlib.util
import itertools
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sseclient import SSEClient

from tests.support.app_emulator import Reply, emulator

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "tests" / "fixtures" / "asgi_apps"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with emulator(APPS / "template.yaml") as url:
        yield url


@pytest.fixture(scope="module")
def uvicorn_url() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    layer_python = str(ROOT / "layers" / "streaming" / "python")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "fastapi_app:app",
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=APPS,
        env={"PYTHONPATH": f"{APPS}:{layer_python}", "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(url + "/json", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_streaming_response_parts_arrive_300ms_apart(base_url: str) -> None:
    reply = call("GET", f"{base_url}/FastApiApp/parts?count=4&gap_ms=300")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.body == b"part 0\npart 1\npart 2\npart 3\n"
    times = [reply.arrival(b"part %d\n" % i) for i in range(4)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(0.2 < gap < 0.7 for gap in gaps), gaps


def test_sse_starlette_events_parse_one_by_one(base_url: str) -> None:
    started = time.monotonic()
    seen: list[tuple[float, str, str, str]] = []
    url = f"{base_url}/FastApiApp/sse?count=4&gap_ms=300"
    with requests.get(url, stream=True, timeout=20) as response:
        assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        for event in SSEClient(response.iter_content(chunk_size=None)).events():
            seen.append((time.monotonic() - started, event.event, event.id, event.data))
    assert [(kind, i, data) for _, kind, i, data in seen] == [
        ("tick", str(i), f"tick {i}") for i in range(4)
    ]
    assert seen[-1][0] - seen[0][0] > 0.75  # each event parsed as it came, not at the end


def test_starlette_sync_stream_through_emulator(base_url: str) -> None:
    reply = call("GET", f"{base_url}/StarletteApp/stream")
    assert reply.body == b"line 0\nline 1\nline 2\n"
    assert reply.arrival(b"line 2") - reply.arrival(b"line 0") > 0.5


COMPARED = [
    ("GET", "/json?a=1&a=2&b=x%20y", None),
    ("POST", "/echo", b'{"some": "json"}'),
    ("POST", "/echo", bytes(range(256))),
    ("GET", "/state", None),
    ("GET", "/cookies", None),
    ("GET", "/nope", None),
    ("GET", "/boom", None),
    ("GET", "/binary", None),
]


@pytest.mark.parametrize(("method", "path", "body"), COMPARED, ids=[p for _, p, _ in COMPARED])
@pytest.mark.parametrize("function", ["FastApiApp", "FastApiBuffered"])
def test_same_answers_as_uvicorn(
    base_url: str, uvicorn_url: str, function: str, method: str, path: str, body: bytes | None
) -> None:
    ours = call(method, f"{base_url}/{function}{path}", body)
    with requests.request(method, uvicorn_url + path, data=body, timeout=10) as theirs:
        assert ours.status == theirs.status_code
        assert ours.body == theirs.content
        assert ours.headers.get("Content-Type") == theirs.headers.get("Content-Type")
        assert _set_cookies(ours) == theirs.raw.headers.getlist("Set-Cookie")


def call(method: str, url: str, body: bytes | None = None) -> Reply:
    """A plain request (the test URLs are AuthType NONE), recording when each chunk arrives."""
    started = time.monotonic()
    with requests.request(method, url, data=body, stream=True, timeout=20) as response:
        reply = Reply(response.status_code, response.headers)
        reply.set_cookies = response.raw.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
        for data in response.iter_content(chunk_size=None):
            reply.chunks.append((time.monotonic() - started, data))
    return reply


def _set_cookies(reply: Reply) -> list[str]:
    return reply.set_cookies  # type: ignore[attr-defined,no-any-return]


rest_front = pytest.mark.skipif(
    importlib.util.find_spec("streamlab.emulator.rest_api") is None,
    reason="this emulator does not serve REST API stages yet",
)


@rest_front
def test_rest_stage_streams_parts_and_keeps_the_stage_in_urls(base_url: str) -> None:
    stage = f"{base_url}/ServerlessRestApi/Prod"
    reply = call("GET", f"{stage}/parts?count=3&gap_ms=300")
    assert reply.status == 200 and reply.body == b"part 0\npart 1\npart 2\n"
    assert reply.arrival(b"part 2") - reply.arrival(b"part 0") > 0.5
    answer = json.loads(call("GET", f"{stage}/json?a=1").body)
    assert (answer["root_path"], answer["path"]) == ("/Prod", "/Prod/json")
    assert answer["query"] == [["a", "1"]]


@rest_front
def test_rest_stage_cookies_errors_and_sse(base_url: str) -> None:
    stage = f"{base_url}/ServerlessRestApi/Prod"
    cookies = call("GET", f"{stage}/cookies")
    assert _set_cookies(cookies) == [
        "first=1; Path=/; SameSite=lax",
        "second=2; HttpOnly; Path=/; SameSite=lax",
    ]
    assert call("GET", f"{stage}/nope").status == 404
    boom = call("GET", f"{stage}/boom")
    assert (boom.status, boom.body) == (500, b"Internal Server Error")
    reply = call("GET", f"{stage}/sse?count=3&gap_ms=300")
    events = list(SSEClient([data for _, data in reply.chunks]).events())
    assert [e.data for e in events] == ["tick 0", "tick 1", "tick 2"]
    assert reply.arrival(b"tick 2") - reply.arrival(b"tick 0") > 0.5


# Paths arrive percent-encoded from both fronts (and %2F must stay apart from /); a header
# value reaches the app as the bytes the client sent; HEAD gets no body. Compared with uvicorn.
ENCODED = "/scope/caf%C3%A9/%E2%9C%93/a%2Fb"
UNICODE = "café".encode()  # latin-1 could carry it too: only UTF-8 gives the sent bytes


def scope_seen(url: str) -> dict[str, str]:
    response = requests.get(url, headers={"X-Unicode": UNICODE}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("front", ["FastApiApp", "FastApiBuffered", "ServerlessRestApi/Prod"])
def test_encoded_paths_and_utf8_headers_as_uvicorn_gives_them(
    base_url: str, uvicorn_url: str, front: str
) -> None:
    ours, theirs = scope_seen(f"{base_url}/{front}{ENCODED}"), scope_seen(uvicorn_url + ENCODED)
    root = ours.pop("root_path")
    assert root == ("/Prod" if front.startswith("Serverless") else "")
    assert ours["path"] == root + theirs["path"] == root + "/scope/café/✓/a/b"
    assert ours["raw_path"] == root + theirs["raw_path"] == root + ENCODED
    assert ours["param"] == theirs["param"]
    assert bytes.fromhex(ours["x_unicode"]) == bytes.fromhex(theirs["x_unicode"]) == UNICODE


@pytest.mark.parametrize("front", ["FastApiApp", "FastApiBuffered", "ServerlessRestApi/Prod"])
def test_head_then_get_on_one_kept_alive_connection(base_url: str, front: str) -> None:
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("HEAD", f"/{front}/scope/x")
        head = connection.getresponse()
        assert head.status == 200
        assert head.read() == b""
        connection.request("GET", f"/{front}/scope/x")
        after = connection.getresponse()  # garbage here if the HEAD answer had carried a body
        assert after.status == 200
        assert json.loads(after.read())["param"] == "x"
    finally:
        connection.close()

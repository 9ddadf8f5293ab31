"""The same Flask and Django apps under gunicorn and through ``streamlab serve`` (the adapter in
the real runtime), on each front and mode: a streamed and a BUFFERED Function URL, a streamed
and a buffered REST stage. A client must not be able to tell them apart: same status, headers
(modulo framing and what the front adds), body bytes, and parts as far apart as the app
writes them wherever gunicorn streams them.

Known and intended difference: an exception that escapes the framework before the first
byte is a 500 under both, with gunicorn's small HTML page and our plain text.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from tests.support.app_emulator import emulator
from tests.support.wsgi_servers import APPS, gunicorn

# front/mode -> (emulator path, gunicorn key suffix, streams?)
FRONTS = {
    "url": ("{app}App", "", True),
    "url-buffered": ("{app}Buffered", "", False),
    "rest": ("{app}Api/Prod", "-rest", True),
    "rest-buffered": ("{app}BufferedApi/Prod", "-rest", False),
}
APPS_UNDER_TEST = {"Flask": "flask_app:app", "Django": "django_app:application"}
# Headers that are framing, or that the front or the server adds of its own accord.
NOT_COMPARED = {"date", "server", "connection", "keep-alive", "transfer-encoding"}
NOT_COMPARED |= {"content-length"}

JSON = {"Content-Type": "application/json"}
BINARY = {"Content-Type": "application/octet-stream"}
CASES: list[tuple[str, str, bytes | None, dict[str, str]]] = [
    ("GET", "/json?a=1&a=2&b=x%20y&c=%C3%A9", None, {}),
    ("GET", "/environ/caf%C3%A9/%E2%9C%93/a%2Fb?x=%C3%A9&y=%2F", None, {}),
    ("POST", "/echo", b'{"some": "json", "n": 1}', JSON),
    ("POST", "/echo", bytes(range(256)) * 4, BINARY),
    ("GET", "/cookies", None, {}),
    ("GET", "/request-cookies", None, {"Cookie": "a=1; b=two"}),
    ("GET", "/nope", None, {}),
    ("GET", "/boom", None, {}),
    ("GET", "/binary", None, {}),
    ("GET", "/parts?count=3&gap_ms=50", None, {}),
    ("HEAD", "/parts?count=2&gap_ms=50", None, {}),
    ("HEAD", "/json", None, {}),
]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    set_cookies: list[str]
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    complete: bool = True  # the body ended as HTTP says (not cut short)

    @property
    def body(self) -> bytes:
        return b"".join(data for _, data in self.chunks)

    def arrival(self, marker: bytes) -> float:
        seen = b""
        for at, data in self.chunks:
            seen += data
            if marker in seen:
                return at
        raise AssertionError(f"{marker!r} never arrived in {seen!r}")


def fetch(method: str, url: str, body: bytes | None = None, **headers: str) -> Reply:
    started = time.monotonic()
    with requests.request(
        method, url, data=body, headers=headers, stream=True, timeout=20, allow_redirects=False
    ) as response:
        compared = {}
        for name, value in response.raw.headers.items():
            key = name.lower()
            if key in NOT_COMPARED or key.startswith("x-amz") or key == "set-cookie":
                continue
            compared[key] = f"{compared[key]}, {value}" if key in compared else value
        reply = Reply(response.status_code, compared, response.raw.headers.getlist("Set-Cookie"))
        try:
            for data in response.iter_content(chunk_size=None):
                reply.chunks.append((time.monotonic() - started, data))
        except requests.exceptions.ChunkedEncodingError:
            reply.complete = False
    return reply


@pytest.fixture(scope="module")
def ours() -> Iterator[str]:
    with emulator(APPS / "template.yaml") as url:
        yield url


@pytest.fixture(scope="module")
def theirs() -> Iterator[dict[str, str]]:
    servers = {}
    for app, target in APPS_UNDER_TEST.items():
        servers[app] = (target, "")
        servers[f"{app}-rest"] = (target, "/Prod")
    with gunicorn(servers) as urls:
        yield urls


def both(
    ours: str, theirs: dict[str, str], app: str, front: str, method: str, path: str, **kw: object
) -> tuple[Reply, Reply]:
    route, suffix, _ = FRONTS[front]
    ours_url = f"{ours}/{route.format(app=app)}{path}"
    return fetch(method, ours_url, **kw), fetch(method, theirs[app + suffix] + path, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=[f"{m} {p.split('?')[0]}" for m, p, _, _ in CASES])
@pytest.mark.parametrize("front", list(FRONTS))
@pytest.mark.parametrize("app", list(APPS_UNDER_TEST))
def test_same_answer_as_gunicorn(
    ours: str,
    theirs: dict[str, str],
    app: str,
    front: str,
    case: tuple[str, str, bytes | None, dict[str, str]],
) -> None:
    method, path, body, headers = case
    mine, reference = both(ours, theirs, app, front, method, path, body=body, **headers)
    assert mine.status == reference.status
    assert mine.body == reference.body
    assert mine.headers == reference.headers
    assert mine.set_cookies == reference.set_cookies
    assert mine.complete and reference.complete


@pytest.mark.parametrize("front", ["url", "rest"])
@pytest.mark.parametrize("app", list(APPS_UNDER_TEST))
def test_parts_300ms_apart_arrive_as_gunicorn_sends_them(
    ours: str, theirs: dict[str, str], app: str, front: str
) -> None:
    mine, reference = both(ours, theirs, app, front, "GET", "/parts?count=3&gap_ms=300")
    assert mine.body == reference.body
    for reply in (mine, reference):
        times = [reply.arrival(b"part %d" % i) for i in range(3)]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(0.2 < gap < 0.7 for gap in gaps), (reply is mine, gaps)


@pytest.mark.parametrize("front", ["url-buffered", "rest-buffered"])
def test_buffered_fronts_answer_the_stream_whole(
    ours: str, theirs: dict[str, str], front: str
) -> None:
    mine, reference = both(ours, theirs, "Flask", front, "GET", "/parts?count=3&gap_ms=200")
    assert mine.body == reference.body
    assert mine.arrival(b"part 0") > 0.35  # with the whole body, as BUFFERED must
    assert reference.arrival(b"part 2") - reference.arrival(b"part 0") > 0.3


@pytest.mark.parametrize("front", ["url", "rest"])
def test_failures_before_and_after_the_first_byte(
    ours: str, theirs: dict[str, str], front: str
) -> None:
    mine, reference = both(ours, theirs, "Flask", front, "GET", "/early-boom")
    assert mine.status == reference.status == 500
    assert mine.body == b"Internal Server Error"  # gunicorn's is the same words in HTML
    assert b"Internal Server Error" in reference.body
    mine, reference = both(ours, theirs, "Flask", front, "GET", "/stream-boom")
    assert mine.status == reference.status == 200
    assert mine.body == reference.body == b"first\n"
    assert not mine.complete and not reference.complete  # the client learns it was cut


@pytest.mark.parametrize("front", list(FRONTS))
@pytest.mark.parametrize("app", list(APPS_UNDER_TEST))
def test_close_is_called_for_every_response(
    ours: str, theirs: dict[str, str], app: str, front: str
) -> None:
    def closes(base: str) -> int:
        return int(json.loads(fetch("GET", base + "/closes").body)["count"])

    route, suffix, _ = FRONTS[front]
    for base in (f"{ours}/{route.format(app=app)}", theirs[app + suffix]):
        before = closes(base)
        assert fetch("GET", base + "/parts?count=2&gap_ms=10").status == 200
        assert closes(base) - before == 2  # the /parts response's, and the first /closes'

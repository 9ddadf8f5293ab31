"""The WSGI adapter in-process, on a stream whose sink records every piece: the environ a
server would build, and what reaches the stream for each way an app can answer or fail."""

from __future__ import annotations

import io
import json
import sys
import time
import warnings
import wsgiref.validate
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from lambda_streaming.http.front import BadEvent, request_from_event
from lambda_streaming.runtime.stream import ResponseStream, StreamBrokenError
from lambda_streaming.wsgi import wsgi_handler
from lambda_streaming.wsgi.environ import build_environ
from tests.support import asgi_events as ev

NULS = b"\0" * 8
App = Callable[[dict[str, Any], Any], Iterable[bytes]]


class MemorySink:
    """Records what a stream hands on; ``broken_after``: sends that succeed before the client
    is gone."""

    def __init__(self, broken_after: int | None = None) -> None:
        self.committed = False
        self.sends: list[tuple[bytes, ...]] = []
        self.ended = False
        self.ended_with: tuple[bytes, ...] = ()  # what the end carried, sent with it
        self._broken_after = broken_after

    def set_content_type(self, content_type: str) -> None:
        pass

    def send(self, pieces: Any) -> None:
        if self._broken_after is not None and len(self.sends) >= self._broken_after:
            raise StreamBrokenError("the client went away")
        self.committed = True
        self.sends.append(tuple(pieces))

    def finish(self, error: Any = None, last: Any = ()) -> None:
        assert error is None
        if last:
            self.send(last)
        self.ended, self.ended_with = True, tuple(last)

    @property
    def data(self) -> bytes:
        return b"".join(b"".join(pieces) for pieces in self.sends)

    def response(self) -> tuple[dict[str, Any], bytes]:
        prelude, found, body = self.data.partition(NULS)
        assert found, self.data
        return json.loads(prelude), body


class Context:
    def __init__(self, remaining_ms: int = 30_000) -> None:
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def serve(
    app: App,
    event: dict[str, Any] | None = None,
    *,
    sink: MemorySink | None = None,
    context: Any = None,
    **options: Any,
) -> MemorySink:
    sink = sink or MemorySink()
    handler = wsgi_handler(app, **options)  # type: ignore[arg-type]
    stream = ResponseStream(sink)
    handler(event or ev.v2("GET", "/"), stream, context or Context())
    stream.end()  # as the runtime does when the handler returns
    assert sink.ended
    return sink


def environ_of(event: dict[str, Any]) -> dict[str, Any]:
    return build_environ(request_from_event(event), "the context")


# --- the environ -------------------------------------------------------------------------------


def test_function_url_environ_as_gunicorn_builds_it() -> None:
    event = ev.v2(
        "POST",
        "/caf%C3%A9/a%2Fb",
        "x=%C3%A9&y=1&y=2",
        body=b'{"a": 1}',
        headers={"content-type": "application/json", "x-unicode": "café", "x_spoof": "no"},
        cookies=["a=1", "b=2"],
    )
    environ = environ_of(event)
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/café/a/b".encode().decode("latin-1")  # bytes in a str
    assert environ["RAW_URI"] == environ["REQUEST_URI"] == "/caf%C3%A9/a%2Fb?x=%C3%A9&y=1&y=2"
    assert environ["QUERY_STRING"] == "x=%C3%A9&y=1&y=2"
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("application/json", "8")
    assert environ["wsgi.input"].read() == b'{"a": 1}'
    assert environ["HTTP_X_UNICODE"] == "café".encode().decode("latin-1")
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert "HTTP_X_SPOOF" not in environ and "HTTP_CONTENT_TYPE" not in environ
    assert environ["HTTP_HOST"] == "abc123.lambda-url.us-east-1.on.aws"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == (environ["HTTP_HOST"], "443")
    assert (environ["SERVER_PROTOCOL"], environ["wsgi.url_scheme"]) == ("HTTP/1.1", "https")
    assert environ["REMOTE_ADDR"] == "203.0.113.7"
    assert environ["wsgi.version"] == (1, 0)
    assert (environ["wsgi.multithread"], environ["wsgi.multiprocess"]) == (False, True)
    assert environ["wsgi.run_once"] is False
    assert environ["aws.event"] is event and environ["aws.context"] == "the context"


def test_rest_environ_stage_as_script_name_and_repeated_headers() -> None:
    event = ev.v1(
        "GET",
        "/items/a b",
        "q=1&q=2&x=é",
        headers={"Accept": ["text/html", "application/json"], "Cookie": ["a=1", "b=2"]},
    )
    environ = environ_of(event)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/Prod", "/items/a b")
    assert environ["RAW_URI"] == "/Prod/items/a%20b?q=1&q=2&x=%C3%A9"
    assert environ["QUERY_STRING"] == "q=1&q=2&x=%C3%A9"
    assert environ["HTTP_ACCEPT"] == "text/html,application/json"  # joined as servers do
    assert environ["HTTP_COOKIE"] == "a=1; b=2"  # but cookies as one Cookie header
    assert "CONTENT_LENGTH" not in environ  # no body and no Content-Length: none, as gunicorn
    assert environ["REMOTE_ADDR"] == "198.51.100.9"


def test_environ_and_server_pass_wsgiref_validator() -> None:
    """wsgiref.validate checks the environ's keys and types and how the server calls the app
    (start_response, write, iteration, close) against PEP 3333."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"checked"]

    for event in (ev.v2("GET", "/a", "b=1"), ev.v1("POST", "/a", body=b"x")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the validator warns about lesser departures
            _, body = serve(wsgiref.validate.validator(app), event).response()
        assert body == b"checked"


def test_not_an_http_event_is_the_invocations_error() -> None:
    with pytest.raises(BadEvent):
        serve(lambda environ, start_response: [], {"Records": []})


# --- the response ------------------------------------------------------------------------------


def test_each_item_is_written_as_it_comes_and_the_head_waits_for_bytes() -> None:
    sink = MemorySink()

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-A", "1")])
        yield b""
        assert sink.sends == []  # an empty item sends nothing, not even the head
        yield b"one"
        assert len(sink.sends) == 1
        yield b"two"

    serve(app, sink=sink)
    prelude = b'{"statusCode":201,"headers":{"Content-Type":"text/plain","X-A":"1"}}'
    assert sink.sends == [(prelude, NULS, b"one"), (b"two",)]


def test_exc_info_replaces_the_head_until_it_is_sent() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        try:
            raise ValueError("template failed")
        except ValueError:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"sorry"]

    prelude, body = serve(app).response()
    assert prelude == {"statusCode": 500, "headers": {"Content-Type": "text/plain"}}
    assert body == b"sorry"


def test_exc_info_after_the_head_reraises_and_the_stream_carries_the_error() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"part"
        try:
            raise KeyError("late")
        except KeyError:
            start_response("500 Oops", [], sys.exc_info())
        yield b"never"

    with pytest.raises(KeyError, match="late"):
        serve(app)


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        ("200", [("X-Bad", "a\r\nInjected: 1")]),
        ("OK", []),
        (200, []),
        ("200 OK", [("X-Bytes", b"v")]),
        ("200 OK", [("Bad Name", "v")]),
        ("200 OK", [("X-Wide", "✓")]),  # not latin-1: not a WSGI header value
        ("200 OK", [("Content-Length", "ten")]),
    ],
    ids=["crlf", "no-code", "int", "bytes", "name", "wide", "length"],
)
def test_a_bad_head_is_a_plain_500(status: Any, headers: Any) -> None:
    closed = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            return iter([b"body"])

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Any) -> Body:
        body = Body()
        try:
            start_response(status, headers)
        finally:
            body.close()
        return body

    prelude, body = serve(app).response()
    assert prelude == {
        "statusCode": 500,
        "headers": {"Content-Type": "text/plain; charset=utf-8"},
    }
    assert body == b"Internal Server Error"


def test_utf8_bytes_in_a_header_value_reach_the_client_as_sent() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("X-Name", "café".encode().decode("latin-1"))])
        return [b""]

    assert serve(app).response()[0]["headers"] == {"X-Name": "café"}


def test_set_cookies_kept_and_framing_dropped_per_front() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(
            "200 OK",
            [
                ("Set-Cookie", "a=1; Path=/"),
                ("Set-Cookie", "b=2; HttpOnly"),
                ("Vary", "Accept"),
                ("Vary", "Cookie"),
                ("Connection", "close"),
                ("Content-Length", "2"),
            ],
        )
        return [b"ok"]

    prelude, body = serve(app).response()
    assert body == b"ok"
    assert prelude == {
        "statusCode": 200,
        "headers": {"Vary": "Accept, Cookie"},
        "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
    }
    prelude, _ = serve(app, ev.v1("GET", "/")).response()
    assert prelude == {
        "statusCode": 200,
        "headers": {},
        "multiValueHeaders": {
            "Vary": ["Accept", "Cookie"],
            "Set-Cookie": ["a=1; Path=/", "b=2; HttpOnly"],
        },
    }


def test_content_length_is_kept_to_and_its_last_write_ends_the_stream() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Length", "5")])
        return [b"abc", b"defgh", b"ij"]

    sink = serve(app)
    assert sink.response()[1] == b"abcde"  # gunicorn too never sends more than it says
    assert sink.sends[-1] == (b"de",)

    def whole(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]

    sink = serve(whole)
    # prelude, delimiter, body and the end in one write: the app's Content-Length says it is all
    assert sink.sends == [sink.ended_with] and sink.response()[1] == b"{}"


def test_write_callable_sends_at_once_head_included() -> None:
    sink = MemorySink()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"")
        assert len(sink.sends) == 1  # the first write() sends the head, even with no bytes
        write(b"written ")
        return [b"then returned"]

    assert serve(app, sink=sink).response()[1] == b"written then returned"


@pytest.mark.parametrize("method_status", [("HEAD", 200), ("GET", 204), ("GET", 304)])
def test_no_body_for_head_204_304_and_the_rest_is_not_pulled(
    method_status: tuple[str, int],
) -> None:
    method, status = method_status
    pulled: list[int] = []
    closed: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response(f"{status} X", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        try:
            for index in range(3):
                pulled.append(index)
                yield b"abc"
        finally:
            closed.append(True)

    prelude, body = serve(app, ev.v2(method, "/")).response()
    assert (prelude["statusCode"], body) == (status, b"")
    assert "Content-Length" not in prelude["headers"]
    assert pulled == [0] and closed == [True]


def test_close_is_called_on_success_failure_and_a_client_gone() -> None:
    calls: list[str] = []

    class Body:
        def __init__(self, parts: list[bytes | Exception]) -> None:
            self._parts = parts

        def __iter__(self) -> Iterator[bytes]:
            for part in self._parts:
                if isinstance(part, Exception):
                    raise part
                yield part

        def close(self) -> None:
            calls.append("close")

    def app_of(*parts: bytes | Exception) -> App:
        def app(environ: dict[str, Any], start_response: Any) -> Body:
            start_response("200 OK", [])
            return Body(list(parts))

        return app

    serve(app_of(b"a", b"b"))
    assert calls == ["close"]
    prelude, body = serve(app_of(RuntimeError("before the head"))).response()
    assert (prelude["statusCode"], body) == (500, b"Internal Server Error")
    assert calls == ["close"] * 2
    with pytest.raises(RuntimeError, match="after the head"):
        serve(app_of(b"a", RuntimeError("after the head")))
    assert calls == ["close"] * 3
    with pytest.raises(StreamBrokenError):
        serve(app_of(b"a", b"b", b"c"), sink=MemorySink(broken_after=1))
    assert calls == ["close"] * 4


def test_app_that_never_starts_a_response_gets_a_500(caplog: pytest.LogCaptureFixture) -> None:
    prelude, _ = serve(lambda environ, start_response: []).response()
    assert prelude["statusCode"] == 500
    prelude, _ = serve(lambda environ, start_response: ["text, not bytes"]).response()
    assert prelude["statusCode"] == 500
    assert "Error handling request GET /" in caplog.text


def test_near_the_deadline_the_body_stops_closes_and_ends_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            for index in range(1000):
                yield b"tick %d\n" % index
                time.sleep(0.05)
        finally:
            closed.append(True)

    started = time.monotonic()
    sink = serve(app, context=Context(remaining_ms=700), deadline_margin_ms=400)
    assert 0.25 < time.monotonic() - started < 0.5
    _, body = sink.response()
    assert body.startswith(b"tick 0\ntick 1\n") and body.endswith(b"\n")
    assert closed == [True]
    assert "cut short: the function's deadline was near" in caplog.text


def test_deadline_before_any_byte_is_a_504() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        while True:
            yield b""  # waiting for something that never comes
            time.sleep(0.05)

    prelude, body = serve(app, context=Context(remaining_ms=300), deadline_margin_ms=200).response()
    assert (prelude["statusCode"], body) == (504, b"Gateway Timeout")


def test_wsgi_errors_goes_to_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        print("line one\nline two", file=environ["wsgi.errors"])
        environ["wsgi.errors"].flush()
        start_response("200 OK", [])
        return []

    serve(app)
    assert "line one\nline two\n" in capsys.readouterr().out


def test_handler_keeps_the_app_and_refuses_a_non_callable() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return []

    assert wsgi_handler(app).app is app  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        wsgi_handler(io.BytesIO())  # type: ignore[arg-type]

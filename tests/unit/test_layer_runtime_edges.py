"""Runtime details with no distinct bytes on the wire of their own: checked in-process."""

from __future__ import annotations

import importlib
import importlib.util
import socket
import sys
from decimal import Decimal

import pytest

from lambda_streaming.runtime import logs
from lambda_streaming.runtime.chunked import ChunkedPost, StreamBrokenError
from lambda_streaming.runtime.connection import Connection
from lambda_streaming.runtime.errors import RuntimeFault
from lambda_streaming.runtime.handler import takes_stream
from lambda_streaming.runtime.loop import marshal_result as _marshal
from lambda_streaming.runtime.pipeline import Pipeline
from lambda_streaming.runtime.protocol import RuntimeApi


class TwoArguments:
    def __call__(self, event, context):  # type: ignore[no-untyped-def]
        return None


class Inherits(TwoArguments):
    pass


def test_takes_stream_reads_an_inherited_call() -> None:
    assert takes_stream(TwoArguments()) is False
    assert takes_stream(Inherits()) is False  # used to fall back to the 3-argument guess


@pytest.fixture
def listener() -> socket.socket:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    yield server
    server.close()


def test_only_a_request_head_may_open_a_connection(listener: socket.socket) -> None:
    connection = Connection(f"127.0.0.1:{listener.getsockname()[1]}")
    with pytest.raises(ConnectionError):
        connection.send((b"b\r\nafter-error\r\n",))  # a chunk with no connection under it
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing connected
    connection.send((b"GET / HTTP/1.1\r\n\r\n",), opens=True)
    listener.accept()[0].close()
    connection.close()


def test_a_finished_chunked_post_refuses_more_chunks(listener: socket.socket) -> None:
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    post = ChunkedPost(Pipeline(RuntimeApi(Connection(address), address)), "r1", "text/plain")
    post.finished = True  # as after a broken write
    with pytest.raises(StreamBrokenError, match="closed"):
        post.send((b"more",))
    with pytest.raises(TimeoutError):
        listener.accept()


class ItemsOverflow(dict):
    def items(self):  # type: ignore[no-untyped-def]
        raise OverflowError("too big")


def test_any_encoding_failure_is_a_marshal_error() -> None:
    with pytest.raises(RuntimeFault) as caught:
        _marshal(ItemsOverflow(a=1))  # OverflowError used to escape as itself
    assert caught.value.error_type == "Runtime.MarshalError"


def test_non_finite_decimals_do_not_crash() -> None:
    body, _ = _marshal({"nan": Decimal("sNaN"), "inf": Decimal("-Infinity")})
    assert body == b'{"nan": NaN, "inf": -Infinity}'


def test_marshal_keeps_decimals_exact_and_strings_intact() -> None:
    mark_like = "\ue000lambda-streaming-decimal"  # near the marker, but not it
    body, content_type = _marshal([Decimal("3.140"), mark_like, {"k": Decimal("1e-7")}])
    assert content_type == "application/json"
    assert body == ('[3.140, "' + mark_like + '", {"k": 1E-7}]').encode()


class _SharedLoader:
    """One loader for many modules, as a zipimporter is."""

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return None

    def exec_module(self, module):  # type: ignore[no-untyped-def]
        module.ran = True


class _SharedFinder:
    def __init__(self, names: set[str]) -> None:
        self.loader = _SharedLoader()
        self.names = names

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name in self.names:
            return importlib.util.spec_from_loader(name, self.loader)
        return None


def test_logging_hook_waits_through_a_probe_and_a_shared_loader() -> None:
    """A find_spec probe wraps the shared loader; the next module it loads is another one,
    which must neither fire the hook nor keep the wrapper; the real import then fires it."""
    fired: list[str] = []
    hook = logs._AfterImport("zz_hook_target", lambda: fired.append("then"))
    finder = _SharedFinder({"zz_hook_target", "zz_hook_other"})
    sys.meta_path[:0] = [hook, finder]
    try:
        assert importlib.util.find_spec("zz_hook_target") is not None  # a probe, no import
        importlib.import_module("zz_hook_other")
        assert fired == [] and hook in sys.meta_path
        assert "exec_module" not in vars(finder.loader)
        importlib.import_module("zz_hook_target")
        assert fired == ["then"] and hook not in sys.meta_path
        assert "exec_module" not in vars(finder.loader)
    finally:
        for entry in (hook, finder):
            if entry in sys.meta_path:
                sys.meta_path.remove(entry)
        for name in ("zz_hook_target", "zz_hook_other"):
            sys.modules.pop(name, None)

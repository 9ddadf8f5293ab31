"""Our result POSTs carry what AWS's own Python client (awslambdaric) sends, side by side.

Both runtimes serve the same events from the recording Runtime API: the invocation id is echoed
on ``/response`` and ``/error``, an invocation error carries the X-Ray error cause with the same
shape and content, and neither sends ``Lambda-Runtime-Function-Error-Type`` on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.layer_process import HANDLERS, LAMBDA_ENV, start_runtime, stop
from tests.support.layer_runtime_api import Received, RecordingRuntimeApi

# Headers that name the client or frame the body, which legitimately differ.
_TRANSPORT = {"host", "user-agent", "accept", "content-length", "transfer-encoding", "expect"}


def start_stock(address: str, handler: str) -> subprocess.Popen[bytes]:
    pytest.importorskip("awslambdaric")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "LAMBDA_", "_HANDLER", "_X_AMZN", "PYTEST"))
    }
    env.update(LAMBDA_ENV)
    env.update({"AWS_LAMBDA_RUNTIME_API": address, "PYTHONPATH": str(HANDLERS)})
    return subprocess.Popen(
        [sys.executable, "-m", "awslambdaric", handler],
        env=env,
        cwd=str(HANDLERS),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


Served = tuple[Received, RecordingRuntimeApi]


def served_by(kind: str, handler: str, **push: object) -> Served:
    api = RecordingRuntimeApi()
    process = (
        start_stock(api.address, handler)
        if kind == "stock"
        else start_runtime(api.address, handler, {"LAMBDA_TASK_ROOT": str(HANDLERS)})
    )
    try:
        request_id = api.push(push.get("event", {}), raw=push.get("raw"))  # type: ignore[arg-type]
        return api.result(request_id), api
    finally:
        stop(process)
        api.close()


@pytest.fixture(params=["buffered.fail", "buffered.echo", "malformed"])
def pair(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[tuple[Received, RecordingRuntimeApi], ...]]:
    handler, push = request.param, {}
    if handler == "malformed":
        handler, push = "buffered.echo", {"raw": b"{not json"}
    yield served_by("stock", handler, **push), served_by("ours", handler, **push)


def names(got: Received) -> set[str]:
    return {k.lower() for k, _ in got.headers} - _TRANSPORT


def test_same_headers_as_the_stock_client(pair: tuple[Served, Served]) -> None:
    (stock, stock_api), (ours, ours_api) = pair
    assert stock.kind == ours.kind
    assert names(ours) == names(stock), (stock.headers, ours.headers)
    for got, api in ((stock, stock_api), (ours, ours_api)):
        assert got.header("Lambda-Runtime-Invocation-Id") == api.invocation_ids[got.request_id]
    if ours.kind == "error":
        assert ours.header("Lambda-Runtime-Function-Error-Type") is None
        assert ours.json()["errorType"] == stock.json()["errorType"]


def test_same_xray_error_cause_as_the_stock_client(pair: tuple[Served, Served]) -> None:
    (stock, _), (ours, _) = pair
    if stock.kind != "error":
        pytest.skip("a successful result carries no X-Ray cause")
    stock_cause = json.loads(stock.header("Lambda-Runtime-Function-XRay-Error-Cause") or "")
    our_cause = json.loads(ours.header("Lambda-Runtime-Function-XRay-Error-Cause") or "")
    stock_message = stock_cause["exceptions"][0].pop("message")
    our_message = our_cause["exceptions"][0].pop("message")
    assert our_cause == stock_cause
    if stock_message.startswith("Unable to unmarshal input: "):
        # the stock client parses events with simplejson, whose messages word things apart
        assert our_message.startswith("Unable to unmarshal input: ")
    else:
        assert our_message == stock_message
    assert our_message == ours.json()["errorMessage"]

"""SnapStart through the real stream-bootstrap: hooks, restore/next, failures, as the stock client.

The hooks come from the PyPI ``snapshot-restore-py`` package, the same registry the managed
runtime provides; the recording Runtime API answers ``restore/next`` at once.
"""

from __future__ import annotations

from tests.support.layer_process import LayerHarness

SNAP = {"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}


def test_hooks_run_in_stock_order_around_restore_next(layer: LayerHarness) -> None:
    layer.start("snapstart_app.handler", **SNAP)
    request_id = layer.api.push({})
    result = layer.api.result(request_id).json()
    restore = layer.api.wait("restore_next")
    names = [name for name, _ in result["calls"]]
    # before-snapshot: last registered first; after-restore: in registration order
    assert names == [
        "before-3",
        "before-2 arg key=value",
        "before-1",
        "after-1",
        "after-2 arg",
    ]
    stamps = dict(result["calls"])
    assert max(stamps[n] for n in names[:3]) < restore.started
    assert min(stamps[n] for n in names[3:]) > restore.ended
    kinds = [r.kind for r in layer.api.received]
    assert kinds[:2] == ["restore_next", "next"]  # restore/next once, before the first next
    assert kinds.count("restore_next") == 1
    assert restore.method == "GET" and restore.body == b""


def test_without_the_variable_nothing_changes(layer: LayerHarness) -> None:
    layer.start("snapstart_app.handler", AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")
    request_id = layer.api.push({})
    assert layer.api.result(request_id).json()["calls"] == []
    assert [r.kind for r in layer.api.received][:1] == ["next"]
    assert "restore_next" not in [r.kind for r in layer.api.received]


def test_plain_start_imports_neither_hooks_nor_workers(layer: LayerHarness) -> None:
    layer.start("probe.modules")
    request_id = layer.api.push({})
    assert layer.api.result(request_id).json() == {
        "snapshot_restore_py": False,
        "multiprocessing": False,
        "lambda_streaming.runtime.snapstart": False,
        "lambda_streaming.runtime.workers": False,
    }


def test_snap_start_without_hooks_still_calls_restore_next(layer: LayerHarness) -> None:
    layer.start("buffered.echo", **SNAP)
    request_id = layer.api.push({"a": 1})
    assert layer.api.result(request_id).json()["echo"] == {"a": 1}
    assert [r.kind for r in layer.api.received][:2] == ["restore_next", "next"]


def assert_stock_error(document: dict[str, object], error_type: str, message: str) -> None:
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorType"] == error_type
    assert document["errorMessage"] == message
    assert document["requestId"] == ""
    assert isinstance(document["stackTrace"], list) and document["stackTrace"]


def test_failing_before_snapshot_hook(layer: LayerHarness) -> None:
    process = layer.start("snapstart_app.handler", SNAP_FAIL="before", **SNAP)
    got = layer.api.wait("init_error")
    assert got.header("Lambda-Runtime-Function-Error-Type") == "Runtime.BeforeSnapshotError"
    assert_stock_error(got.json(), "ValueError", "before-3 hook failed")
    assert "snapstart_app.py" in got.json()["stackTrace"][-1]
    assert process.wait(timeout=5) == 64
    out, _ = layer.stop(process)
    # the first hook raised: no other hook ran, the error is logged as any [ERROR]
    assert "hook before-3\n" in out and "before-2" not in out
    assert "[ERROR] ValueError: before-3 hook failed\rTraceback (most recent call last):" in out
    assert [r.kind for r in layer.api.received] == ["init_error"]  # no restore/next, no next


def test_failing_restore_next_is_a_before_snapshot_error(layer: LayerHarness) -> None:
    layer.api.status_for["restore_next"] = 500
    process = layer.start("buffered.echo", **SNAP)
    got = layer.api.wait("init_error")
    assert got.header("Lambda-Runtime-Function-Error-Type") == "Runtime.BeforeSnapshotError"
    assert "restore/next" in got.json()["errorMessage"]
    assert process.wait(timeout=5) == 64
    assert [r.kind for r in layer.api.received] == ["restore_next", "init_error"]


def test_failing_after_restore_hook(layer: LayerHarness) -> None:
    process = layer.start("snapstart_app.handler", SNAP_FAIL="after", **SNAP)
    got = layer.api.wait("restore_error")
    assert got.method == "POST"
    assert got.header("Lambda-Runtime-Function-Error-Type") == "Runtime.AfterRestoreError"
    assert_stock_error(got.json(), "ValueError", "after-1 hook failed")
    assert process.wait(timeout=5) == 65
    out, _ = layer.stop(process)
    assert "[ERROR] ValueError: after-1 hook failed\r" in out
    assert "after-2" not in out
    assert [r.kind for r in layer.api.received] == ["restore_next", "restore_error"]

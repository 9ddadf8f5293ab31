"""The cold-start import budget: the runtime loads a costly module only when the path served
needs it, and the path that then needs it still works.

Each handler reports which watched modules its process has loaded; a module the interpreter
itself preloads here (site, .pth files) is not held against the runtime.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.fixtures.layer_handlers.imports_app import WATCHED
from tests.support.layer_process import LayerHarness

NULS = b"\x00" * 8


def watched_after(statement: str) -> set[str]:
    """The watched modules a bare interpreter has loaded after running ``statement``."""
    code = f"{statement}\nimport sys; print(','.join(m for m in {WATCHED!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(filter(None, out.stdout.strip().split(",")))


@pytest.fixture(scope="module")
def preloaded() -> set[str]:
    """What a bare interpreter already has: the budget is about what the runtime adds."""
    return watched_after("pass")


def loaded_by(layer: LayerHarness, request_id: str, preloaded: set[str]) -> set[str]:
    result = layer.api.result(request_id)
    assert result.kind == "response", result.raw
    body = result.body.split(NULS, 1)[1].decode()
    return set(filter(None, body.split(","))) - preloaded


def test_plain_streaming_handler_loads_nothing_costly(
    layer: LayerHarness, preloaded: set[str]
) -> None:
    layer.start("imports_app.plain")
    assert loaded_by(layer, layer.api.push({}), preloaded) == set()


def test_plain_result_compiles_no_stream_module(layer: LayerHarness) -> None:
    """A handler returning a plain result (as on the stock runtime) gets it posted; the
    stream, its chunked framing and the HTTP side are never compiled."""
    layer.start("stock_style.plain_result")
    layer.api.result(layer.api.push({}))
    result = layer.api.result(layer.api.push({}))  # after a whole invocation was served
    assert result.kind == "response"
    loaded = set(result.json()["loaded"])
    assert "lambda_streaming.runtime.pipeline" in loaded
    assert not loaded & {
        "lambda_streaming.runtime.stream",
        "lambda_streaming.runtime.chunked",
        "lambda_streaming.http",
    }


def test_first_coroutine_brings_asyncio_and_works(layer: LayerHarness, preloaded: set[str]) -> None:
    layer.start("imports_app.coroutine")
    # asyncio brings what it imports itself (on 3.11: logging, traceback, ast), nothing more
    assert loaded_by(layer, layer.api.push({}), preloaded) == watched_after("import asyncio") - (
        preloaded
    )


def test_first_error_brings_traceback_and_is_reported(
    layer: LayerHarness, preloaded: set[str]
) -> None:
    process = layer.start("imports_app.fails_once")
    failed = layer.api.push({"fail": True})
    error = layer.api.result(failed)
    assert error.kind == "error"
    document = error.json()
    assert document["errorType"] == "ValueError"
    assert any("asked to fail" in line for line in document["stackTrace"])
    after = loaded_by(layer, layer.api.push({}), preloaded)
    assert {
        "traceback",
        "lambda_streaming.runtime.failures",
        "lambda_streaming.runtime.reports",
    } <= after
    assert "asyncio" not in after
    _, stderr = layer.stop(process)
    assert "Traceback" not in stderr  # reported, not crashed


def test_logging_imported_late_is_still_formatted(layer: LayerHarness, preloaded: set[str]) -> None:
    process = layer.start("imports_app.logs_late")
    request_id = layer.api.push({})
    assert "logging" in loaded_by(layer, request_id, preloaded)
    stdout, _ = layer.stop(process)
    line = next(line for line in stdout.splitlines() if "imported late" in line)
    level, timestamp, logged_id, message = line.split("\t")
    assert (level, logged_id, message) == ("[WARNING]", request_id, "imported late")
    assert timestamp.endswith("Z")


def test_a_look_up_without_import_does_not_lose_the_log_handler(layer: LayerHarness) -> None:
    process = layer.start("probe_logging_app.handler")
    request_id = layer.api.push({})
    assert layer.api.result(request_id).json() == {"found": True}
    stdout, _ = layer.stop(process)
    line = next(line for line in stdout.splitlines() if "after a probe" in line)
    assert line.startswith("[WARNING]\t") and f"\t{request_id}\t" in line


def test_logging_keeps_its_own_loader_after_the_hook(layer: LayerHarness) -> None:
    layer.start("imports_app.logging_loader")
    result = layer.api.result(layer.api.push({}))
    assert result.body.split(NULS, 1)[1] == b"clean=True hooked=True"

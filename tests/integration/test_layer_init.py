"""Start-up failures reach init/error with the stock client's error types; the process exits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.layer_process import LayerHarness


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("missing_module.handler", "Runtime.ImportModuleError",
         "Unable to import module 'missing_module': No module named 'missing_module'"),
        ("buffered.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'buffered'"),
        ("nodot", "Runtime.MalformedHandlerName",
         "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)"),
        ("sys.handler", "Runtime.BuiltInModuleConflict",
         "Cannot use built-in module sys as a handler module"),
        ("raises_on_import.handler", "RuntimeError", "boom at import"),
    ],
)  # fmt: skip
def test_handler_load_failures(
    layer: LayerHarness, handler: str, error_type: str, message: str
) -> None:
    process = layer.start(handler)
    got = layer.api.wait("init_error")
    assert got.header("Lambda-Runtime-Function-Error-Type") == error_type
    document = got.json()
    assert document["errorType"] == error_type
    assert document["errorMessage"] == message
    assert document["requestId"] == ""
    assert process.wait(timeout=5) == 1
    out, _ = layer.stop(process)
    # as the stock client: its LAMBDA_WARNING record (no request id at init), then the error
    warning, error = out.split("\n", 1)
    level, timestamp, request_id, text = warning.split("\t")
    assert (level, request_id) == ("[WARNING]", "") and timestamp.endswith("Z")
    assert text.startswith("LAMBDA_WARNING: Unhandled exception. The most likely cause is")
    assert error.startswith(f"[ERROR] {error_type}: {message}\rTraceback (most recent call last):")
    assert not [r for r in layer.api.received if r.kind == "next"]


def test_syntax_error(layer: LayerHarness, tmp_path: Path) -> None:
    # written here, not kept as a fixture file, so linters of the repository never see it
    (tmp_path / "broken_syntax.py").write_text("def handler(event, context)\n    return 1\n")
    process = layer.start("broken_syntax.handler", LAMBDA_TASK_ROOT=str(tmp_path))
    document = layer.api.wait("init_error").json()
    assert document["errorType"] == "Runtime.UserCodeSyntaxError"
    assert document["errorMessage"].startswith("Syntax error in module 'broken_syntax': ")
    assert document["stackTrace"][0].startswith('  File "')
    assert 'broken_syntax.py" Line 1' in document["stackTrace"][0]
    assert process.wait(timeout=5) == 1


def test_invalid_invoke_mode(layer: LayerHarness) -> None:
    process = layer.start("streaming.http", STREAM_INVOKE_MODE="STREAMING")
    document = layer.api.wait("init_error").json()
    assert document["errorType"] == "Runtime.InvalidConfiguration"
    assert "RESPONSE_STREAM or BUFFERED" in document["errorMessage"]
    assert process.wait(timeout=5) == 1


def test_runtime_api_unreachable_exits_nonzero() -> None:
    from tests.support.layer_process import start_runtime, stop

    process = start_runtime("127.0.0.1:1", "buffered.echo")
    assert process.wait(timeout=10) == 1
    out, _ = stop(process)
    assert "ConnectionRefusedError" in out

"""Logging matches the stock runtime: formats, levels, request ids, the telemetry fd framing."""

from __future__ import annotations

import json
import os
import re
import struct
import time

import pytest

from tests.support.layer_process import LayerHarness, start_runtime, stop
from tests.support.layer_runtime_api import RecordingRuntimeApi

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"


def run_once(layer: LayerHarness, handler: str, **env: str) -> tuple[str, str]:
    process = layer.start(handler, **env)
    request_id = layer.api.push({})
    layer.api.result(request_id)
    out, _ = layer.stop(process)
    return request_id, out


def test_text_format_on_stdout(layer: LayerHarness) -> None:
    request_id, out = run_once(layer, "logs_app.text")
    assert re.search(rf"^\[WARNING\]\t{TIME}\.\d{{3}}Z\t{request_id}\thello there\n", out, re.M)
    assert "info line" not in out  # root logger stays at WARNING, as on Lambda
    assert "plain print\n" in out
    assert "via context\n" in out


def test_a_record_with_a_traceback_ends_its_line(layer: LayerHarness) -> None:
    """On plain stdout each record ends its line, also after a traceback (which the stock
    client leaves unterminated, so its next record would start on the traceback's last line)."""
    request_id, out = run_once(layer, "logs_app.exception_then_line")
    assert re.search(rf"^\[ERROR\]\t{TIME}\.\d{{3}}Z\t{request_id}\twith a traceback\n", out, re.M)
    assert re.search(r"^KeyError: 'caught'\n", out, re.M)
    assert re.search(rf"^\[WARNING\]\t{TIME}\.\d{{3}}Z\t{request_id}\tthe next record\n", out, re.M)


def test_log_level_env(layer: LayerHarness) -> None:
    request_id, out = run_once(layer, "logs_app.text", AWS_LAMBDA_LOG_LEVEL="INFO")
    assert re.search(rf"^\[INFO\]\t{TIME}\.\d{{3}}Z\t{request_id}\tinfo line\n", out, re.M)


def test_json_format(layer: LayerHarness) -> None:
    request_id, out = run_once(layer, "logs_app.structured", AWS_LAMBDA_LOG_FORMAT="JSON")
    record = json.loads(next(line for line in out.splitlines() if '"level"' in line))
    assert record == {
        "timestamp": record["timestamp"],
        "level": "WARNING",
        "message": {"k": "v"},
        "logger": "app",
        "requestId": request_id,
        "custom": 1,
    }
    assert re.fullmatch(rf"{TIME}Z", record["timestamp"])


def test_uncaught_error_is_logged_as_one_record(layer: LayerHarness) -> None:
    _, out = run_once(layer, "logs_app.fail")
    error = next(line for line in out.split("\n") if line.startswith("[ERROR]"))
    parts = error.split("\r")
    assert parts[0] == "[ERROR] ValueError: bad thing"
    assert parts[1] == "Traceback (most recent call last):"
    assert parts[2].startswith('\u00a0\u00a0File "') and "in fail" in parts[2]


def test_uncaught_error_json(layer: LayerHarness) -> None:
    request_id, out = run_once(layer, "logs_app.fail", AWS_LAMBDA_LOG_FORMAT="JSON")
    record = json.loads(next(line for line in out.splitlines() if '"errorType"' in line))
    assert record["level"] == "ERROR"
    assert record["errorType"] == "ValueError"
    assert record["errorMessage"] == "bad thing"
    assert record["requestId"] == request_id
    assert isinstance(record["stackTrace"], list)


def read_frames(data: bytes) -> list[tuple[int, int, str]]:
    frames = []
    while data:
        frame_type, length, micros = struct.unpack(">IIQ", data[:16])
        frames.append((frame_type, micros, data[16 : 16 + length].decode()))
        data = data[16 + length :]
    return frames


@pytest.mark.parametrize(
    ("env", "warning_type", "error_type"),
    [
        ({}, 0xA55A0003, 0xA55A0017),
        ({"AWS_LAMBDA_LOG_LEVEL": "INFO"}, 0xA55A0013, 0xA55A0017),
        ({"AWS_LAMBDA_LOG_FORMAT": "JSON"}, 0xA55A0012, 0xA55A0016),
    ],
)
def test_telemetry_fd_framing(env: dict[str, str], warning_type: int, error_type: int) -> None:
    read_end, write_end = os.pipe()
    fd_env = {"_LAMBDA_TELEMETRY_LOG_FD": str(write_end), **env}
    with RecordingRuntimeApi() as api:
        ok = start_runtime(api.address, "logs_app.text", fd_env, pass_fds=(write_end,))
        request_id = api.push({})
        try:
            result = api.result(request_id).json()
        finally:
            out, _ = stop(ok)
        failing = start_runtime(api.address, "logs_app.fail", fd_env, pass_fds=(write_end,))
        os.close(write_end)
        try:
            api.result(api.push({}))
        finally:
            stop(failing)
        with os.fdopen(read_end, "rb") as pipe:
            frames = read_frames(pipe.read())
    assert result == {"telemetry_fd_env": None}  # removed from the handler's environment
    warning = next(f for f in frames if "hello there" in f[2])
    assert warning[0] == warning_type
    assert request_id in warning[2]
    assert abs(warning[1] / 1e6 - time.time()) < 60  # microseconds since the epoch
    assert "plain print" in out  # print() still goes to stdout, as with the stock client
    assert "hello there" not in out
    (error,) = [f for f in frames if "bad thing" in f[2]]  # one frame, stack trace included
    assert error[0] == error_type
    if "AWS_LAMBDA_LOG_FORMAT" not in env:
        assert error[2].startswith("[ERROR] ValueError: bad thing\nTraceback (most recent call")


def test_powertools_logger_with_streaming_handler(layer: LayerHarness) -> None:
    process = layer.start("powertools_app.handler")
    request_id = layer.api.push({})
    got = layer.api.result(request_id)
    out, _ = layer.stop(process)
    assert got.body.endswith(b"\x00" * 8 + b"ab")
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    (record,) = [r for r in lines if r.get("message") == "streaming now"]  # once, not duplicated
    assert record["service"] == "streamer"
    assert record["function_request_id"] == request_id
    assert record["function_name"] == "test-fn"
    assert record["function_memory_size"] in (256, "256")
    assert record["cold_start"] is True

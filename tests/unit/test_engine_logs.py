"""Lambda-style log lines, memory readings and the merged /opt directory."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from streamlab.emulator.engine import decode_client_context
from streamlab.emulator.launch import OptDir
from streamlab.emulator.logs import LambdaLog, billed_ms, max_memory_mb, report_line


def test_report_line_has_lambdas_fields() -> None:
    line = report_line(
        "abc", duration_ms=12.345, memory_mb=256, max_memory_mb=40, init_duration_ms=101.5
    )
    assert line == (
        "REPORT RequestId: abc\tDuration: 12.35 ms\tBilled Duration: 114 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 40 MB\tInit Duration: 101.50 ms\t"
    )
    warm = report_line("abc", duration_ms=0.2, memory_mb=128, max_memory_mb=None)
    assert "Init Duration" not in warm and "Billed Duration: 1 ms" in warm


def test_billing_rounds_up_to_the_started_millisecond() -> None:
    assert billed_ms(10.0) == 10
    assert billed_ms(10.01) == 11
    assert billed_ms(0.0) == 1


def test_log_lines_are_prefixed_with_the_function_name() -> None:
    buffer = io.StringIO()
    log = LambdaLog(buffer)
    log.output("SseFunction", "hello")
    log.start("SseFunction", "id-1")
    log.end(
        "SseFunction",
        "id-1",
        duration_ms=5,
        memory_mb=128,
        max_memory_mb=30,
        error=("Sandbox.Timedout", "Task timed out after 1.00 seconds"),
    )
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "[SseFunction] hello"
    assert lines[1] == "[SseFunction] START RequestId: id-1 Version: $LATEST"
    assert lines[2] == (
        "[SseFunction] ERROR RequestId: id-1 Sandbox.Timedout: Task timed out after 1.00 seconds"
    )
    assert lines[3] == "[SseFunction] END RequestId: id-1"
    assert re.match(r"\[SseFunction\] REPORT RequestId: id-1\tDuration: 5.00 ms", lines[4])


def test_max_memory_reads_the_peak_of_a_live_process() -> None:
    with open(f"/proc/{os.getpid()}/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    # This process (and its children, if any) peaked at least here.
    assert max_memory_mb(os.getpid()) >= round(peak_kb / 1024)
    assert max_memory_mb(2**22 + 12345) is None


def test_opt_dir_merges_layers_later_ones_winning(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "python").mkdir(parents=True)
    (first / "python" / "a.py").write_text("first a")
    (first / "python" / "shared.py").write_text("first shared")
    (first / "bootstrap").write_text("first bootstrap")
    (second / "python").mkdir(parents=True)
    (second / "python" / "b.py").write_text("second b")
    (second / "python" / "shared.py").write_text("second shared")
    opt = OptDir([first, second])
    try:
        assert (opt.path / "python" / "a.py").read_text() == "first a"
        assert (opt.path / "python" / "b.py").read_text() == "second b"
        assert (opt.path / "python" / "shared.py").read_text() == "second shared"
        assert (opt.path / "bootstrap").read_text() == "first bootstrap"
        # Links, not copies: the layer's sources stay the single truth.
        assert (opt.path / "python" / "a.py").resolve() == first / "python" / "a.py"
        assert first.exists()
    finally:
        opt.cleanup()
    assert not opt.path.exists() and (first / "python" / "a.py").exists()


def test_client_context_is_decoded_from_base64_for_the_runtime() -> None:
    assert decode_client_context("eyJjdXN0b20iOiB7ImEiOiAxfX0=") == '{"custom": {"a": 1}}'
    assert decode_client_context('{"custom": {}}') == '{"custom": {}}'
    assert decode_client_context(None) is None

"""Lambda-style log lines on the emulator's stdout.

The same START / END / REPORT lines CloudWatch shows, so that what a developer reads
locally (durations, cold starts, memory) matches what they will read in AWS, and the
function's own output prefixed with its name, since several functions share one terminal.
"""

from __future__ import annotations

import math
import sys
from typing import TextIO


class LambdaLog:
    """Writes log lines for every function of one emulator."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout  # looked up late: pytest's capsys swaps sys.stdout

    def write(self, line: str) -> None:
        stream = self.stream
        stream.write(line + "\n")
        stream.flush()

    def output(self, function_name: str, line: str) -> None:
        """One line the function printed."""
        self.write(f"[{function_name}] {line}")

    def start(self, function_name: str, request_id: str) -> None:
        self.write(f"[{function_name}] START RequestId: {request_id} Version: $LATEST")

    def init_report(self, function_name: str, duration_ms: float, error_type: str) -> None:
        self.write(
            f"[{function_name}] INIT_REPORT Init Duration: {duration_ms:.2f} ms\t"
            f"Phase: init\tStatus: error\tError Type: {error_type}"
        )

    def end(
        self,
        function_name: str,
        request_id: str,
        *,
        duration_ms: float,
        memory_mb: int,
        max_memory_mb: int | None,
        init_duration_ms: float | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        if error is not None:
            error_type, message = error
            self.write(f"[{function_name}] ERROR RequestId: {request_id} {error_type}: {message}")
        self.write(f"[{function_name}] END RequestId: {request_id}")
        self.write(
            f"[{function_name}] "
            + report_line(
                request_id,
                duration_ms=duration_ms,
                memory_mb=memory_mb,
                max_memory_mb=max_memory_mb,
                init_duration_ms=init_duration_ms,
            )
        )


def report_line(
    request_id: str,
    *,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int | None,
    init_duration_ms: float | None = None,
) -> str:
    """The REPORT line, as Lambda prints it (tab-separated fields, billed per started ms)."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms(duration_ms, init_duration_ms)} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb if max_memory_mb is not None else '-'} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    return "\t".join(fields) + "\t"


def billed_ms(duration_ms: float, init_duration_ms: float | None = None) -> int:
    """Lambda bills each started millisecond (since Aug 2025 managed runtimes also bill init)."""
    return max(1, math.ceil(duration_ms + (init_duration_ms or 0.0)))


def max_memory_mb(pid: int) -> int | None:
    """Peak resident memory (VmHWM) of a process and its children, in MB, from /proc."""
    total_kb = 0
    found = False
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        total_kb += int(line.split()[1])
                        found = True
                        break
        except (OSError, ValueError):
            continue
        try:
            with open(f"/proc/{current}/task/{current}/children", "rb") as children:
                pending.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            pass
    if not found:
        return None
    return max(1, round(total_kb / 1024))

"""Call every target N times, alternating the order, and say what happened as it happens."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

import requests

from streamlab.compare.measure import RunResult, Workload, measure
from streamlab.compare.targets import Target


def run_all(
    targets: Sequence[Target],
    workload: Workload,
    runs: int,
    *,
    warmup: int = 1,
    progress: TextIO | None = None,
) -> list[RunResult]:
    """Warm-up calls (cold starts) are shown but not kept. Odd rounds run in reverse order,
    so neither mode always follows the other (A B A B ... then B A B A): drift on a shared
    machine then hits both alike."""
    progress = progress or sys.stderr  # looked up per call: tests and callers may swap it
    results: list[RunResult] = []
    total = runs * len(targets)
    with requests.Session() as session:
        for round_index in range(warmup):
            for target in targets:
                result = measure(session, target, workload)
                print(f"[warm-up {round_index + 1}] {describe(result)}", file=progress, flush=True)
        for round_index in range(runs):
            order = targets if round_index % 2 == 0 else list(reversed(targets))
            for target in order:
                result = measure(session, target, workload)
                results.append(result)
                counter = f"[{len(results):>{len(str(total))}}/{total}]"
                print(f"{counter} {describe(result)}", file=progress, flush=True)
    return results


def describe(result: RunResult) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.1f} ms"

    line = (
        f"{result.target.label:<20} first byte {ms(result.ttfb_s):>9}  "
        f"first token {ms(result.first_token_s):>9}  total {ms(result.total_s):>9}  "
        f"{result.tokens} tokens  {result.wire_bytes} B"
    )
    return line + ("" if result.ok else f"  FAILED: {result.error}")

"""The large-export case: a big answer in each format, streamed, timed under Lambda's caps.

Small answers show what streaming buys; a large one shows what the platform allows. Lambda
streams the first 6 MiB of a response uncapped and the rest at 2 MiB/s (behind a REST API
stage: 10 MiB, then 2 MiB/s), so past the burst the time is the bandwidth's, not the
function's. The emulator keeps those caps unless ``--no-limits``; a deployed stack has
AWS's own. The built-in generator makes the export (``max_tokens`` tokens of ``token_bytes``
bytes each); a buffered answer cannot carry it at all (6 MB), so only streams are measured.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from streamlab.compare.measure import Workload
from streamlab.compare.runner import run_all
from streamlab.compare.stats import Summary, summarize
from streamlab.compare.targets import FORMAT_LABELS, FORMATS, Front, Target
from streamlab.emulator.limits import LAMBDA_LIMITS, MIB, Bandwidth

EXPORT_TOKENS = 2048  # the template's MAX_TOKENS_LIMIT: each MiB is 2048 tokens of 512 bytes


@dataclass(frozen=True)
class ExportCase:
    mib: int
    runs: int
    front: Front

    @property
    def workload(self) -> Workload:
        return Workload(
            prompt="export",
            tokens=EXPORT_TOKENS,
            token_delay_ms=0,
            token_bytes=self.mib * MIB // EXPORT_TOKENS,
        )

    @property
    def bandwidth(self) -> Bandwidth:
        caps = LAMBDA_LIMITS.rest_stream if self.front == "rest" else LAMBDA_LIMITS.url_stream
        assert caps is not None
        return caps

    def capped_s(self, size: float) -> float:
        """What the caps alone make ``size`` bytes take (the burst is free)."""
        return max(0.0, size - self.bandwidth.burst) / self.bandwidth.rate


def run_export(targets: Sequence[Target], case: ExportCase) -> list[Summary]:
    """The streamed targets, ``case.runs`` times each, alternating; one summary per format."""
    streamed = [target for target in targets if target.mode == "streamed"]
    print(
        f"large export: {case.mib} MiB per call, {case.runs} calls per format",
        file=sys.stderr,
        flush=True,
    )
    results = run_all(streamed, case.workload, case.runs, warmup=0)
    return [summarize(target.fmt, "streamed", results) for target in streamed]


def render_export(summaries: Sequence[Summary], case: ExportCase) -> str:
    caps = case.bandwidth
    where = "a REST API stage" if case.front == "rest" else "a Function URL"
    rows = []
    for fmt in FORMATS:
        summary = next(s for s in summaries if s.fmt == fmt)
        size = summary.wire_bytes.median
        total = summary.total_s.median
        rate = size / total / MIB if total and not math.isnan(total) else math.nan
        rows.append(
            f"| {FORMAT_LABELS[fmt]} | {summary.runs - summary.failures} of {summary.runs} | "
            f"{_mib(size)} | {_s(total)} | {_s(summary.total_s.p95)} | {rate:.2f} MiB/s | "
            f"{_s(case.capped_s(size))} |"
        )
    table = "\n".join(rows)
    w = case.workload
    calls = f"{case.runs} call{'s' if case.runs != 1 else ''}"
    return f"""
## Large export

What a big answer costs: {case.mib} MiB of text in each format (`max_tokens={w.tokens}`,
`token_bytes={w.token_bytes}`, `token_delay_ms=0`), streamed through {where}, {calls} per
format.

**Caps in force**: the first {caps.burst / MIB:g} MiB of a response uncapped, then
{caps.rate / MIB:g} MiB/s: Lambda's documented bandwidth for response streaming, which
`streamlab serve` keeps unless `--no-limits` (a deployed function gets AWS's own). The
framing of SSE and JSON lines adds bytes, and every byte past the burst costs time.

| format | calls | on the wire | total time (median) | p95 | throughput | the caps alone |
|---|---:|---:|---:|---:|---:|---:|
{table}

A buffered answer cannot carry this at all: past 6 MB Lambda refuses it
(`Function.ResponseSizeTooLarge`, a 502 to the client). Locally without the caps
(`--no-limits`) the same export takes a fraction of a second, which no deployed function
will show.
"""


def _mib(size: float) -> str:
    return "n/a" if math.isnan(size) else f"{size / MIB:.1f} MiB"


def _s(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds:.2f} s"

"""Median and p95 over runs: small samples on a shared machine, so no means."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from streamlab.compare.measure import RunResult
from streamlab.compare.targets import Format, Mode


@dataclass(frozen=True)
class Spread:
    median: float
    p95: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(math.nan, math.nan)
        if len(values) == 1:  # quantiles() needs two points
            return cls(values[0], values[0])
        # "inclusive": linear interpolation between closest ranks, numpy's default
        p95 = statistics.quantiles(values, n=100, method="inclusive")[94]
        return cls(statistics.median(values), p95)


@dataclass(frozen=True)
class Summary:
    """One format in one mode, over its successful runs."""

    fmt: Format
    mode: Mode
    runs: int
    failures: int
    ttfb_s: Spread
    first_event_s: Spread
    first_token_s: Spread
    gap_s: Spread  # over all token gaps of all runs
    total_s: Spread
    tokens: Spread
    wire_bytes: Spread
    overhead_bytes_per_token: Spread


def summarize(fmt: Format, mode: Mode, results: Sequence[RunResult]) -> Summary:
    mine = [r for r in results if r.target.fmt == fmt and r.target.mode == mode]
    good = [r for r in mine if r.ok]

    def spread(metric: Callable[[RunResult], float | None]) -> Spread:
        return Spread.of([v for r in good if (v := metric(r)) is not None])

    return Summary(
        fmt=fmt,
        mode=mode,
        runs=len(mine),
        failures=len(mine) - len(good),
        ttfb_s=spread(lambda r: r.ttfb_s),
        first_event_s=spread(lambda r: r.first_event_s),
        first_token_s=spread(lambda r: r.first_token_s),
        gap_s=Spread.of([gap for r in good for gap in r.gaps_s]),
        total_s=spread(lambda r: r.total_s),
        tokens=spread(lambda r: r.tokens),
        wire_bytes=spread(lambda r: r.wire_bytes),
        overhead_bytes_per_token=spread(lambda r: r.overhead_bytes_per_token),
    )

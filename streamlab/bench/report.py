"""Prints a bench result: the side-by-side table, ours vs each peer, and the issue's targets."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from streamlab.bench.runtime import BenchResult


@dataclass(frozen=True)
class Row:
    metric: str
    title: str
    digits: int
    higher_is_better: bool = True


ROWS = (
    Row("noop_buffered", "no-op buffered (invocations/s)", 0),
    Row("noop_streamed", "no-op streamed (invocations/s)", 0),
    Row("bulk", "{bulk} streamed in {piece} writes (MiB/s)", 0),
    Row("startup_ms", "start-up to first next (ms)", 1, higher_is_better=False),
)
DETAIL_ROWS = (
    Row("noop_buffered_cpu", "client CPU per buffered no-op (µs)", 0, False),
    Row("noop_streamed_cpu", "client CPU per streamed no-op (µs)", 0, False),
    Row("bulk_cpu", "client CPU per MiB streamed (µs)", 0, False),
    Row("noop_buffered_server", "server busy, buffered no-op (% of a core)", 0, False),
    Row("noop_streamed_server", "server busy, streamed no-op (% of a core)", 0, False),
    Row("bulk_server", "server busy, bulk streamed (% of a core)", 0, False),
)


@dataclass(frozen=True)
class Target:
    metric: str
    peer: str
    text: str
    limit: float
    at_most: bool = False  # the ratio must stay at or below the limit (times, not rates)


TARGETS = (
    Target("noop_buffered", "awslambdaric", "buffered no-op >= 1.0x awslambdaric", 1.0),
    Target("noop_streamed", "node", "streamed no-op >= 1.5x the Node client", 1.5),
    Target("bulk", "node", "{bulk} throughput >= 1.0x the Node client", 1.0),
    Target("startup_ms", "awslambdaric", "start-up no slower than awslambdaric", 1.0, at_most=True),
)
OURS = "ours"


def render(result: BenchResult) -> str:
    """The whole report as text."""
    config = result.config
    names = {"bulk": _size(config.bulk_bytes), "piece": _size(config.piece_bytes)}
    clients = list(result.clients)
    width = max(16, *(len(client.label) + 2 for client in clients))
    first = 44
    lines = [
        f"Runtime clients against one local Runtime API: {config.rounds} round(s), "
        f"{config.seconds:g} s per no-op run, {config.bulk_count} x {names['bulk']} per bulk run,"
        f" {config.startups} start-up(s) per round; medians over rounds.",
        "",
        "".ljust(first) + "".join(client.label.rjust(width) for client in clients),
    ]
    for row in (*ROWS, None, *DETAIL_ROWS):
        if row is None:
            lines.append("")
            continue
        cells = [_cell(result.median(row.metric, client.key), row.digits) for client in clients]
        lines.append(
            row.title.format(**names).ljust(first) + "".join(c.rjust(width) for c in cells)
        )
    lines += [
        "",
        "'server ceiling' is a raw-socket client that does nothing else: no client can beat it,",
        "and a figure close to it says more about the server than about the client.",
        *_ratio_lines(result, names),
        *_target_lines(result, names),
    ]
    return "\n".join(lines)


def _ratio_lines(result: BenchResult, names: dict[str, str]) -> list[str]:
    peers = [c for c in result.clients if c.key != OURS and not c.reference]
    if not any(c.key == OURS for c in result.clients) or not peers:
        return []
    lines = [
        "",
        "ours / peer (median of per-round ratios; rates: higher is better, times: lower is better)",
    ]
    for row in ROWS:
        cells = []
        for peer in peers:
            ratio = result.ratio(row.metric, OURS, peer.key)
            cells.append(f"{_times(ratio)} vs {peer.label}")
        lines.append("  " + row.title.format(**names).ljust(42) + "   ".join(cells))
    return lines


def _target_lines(result: BenchResult, names: dict[str, str]) -> list[str]:
    lines = ["", "targets (issue 3; ratio of ours to the peer, median of per-round ratios):"]
    for target in TARGETS:
        ratio = result.ratio(target.metric, OURS, target.peer)
        text = target.text.format(**names)
        if ratio is None:
            lines.append(f"  SKIP  {text} (not measured)")
            continue
        passed = ratio <= target.limit if target.at_most else ratio >= target.limit
        sign = "<=" if target.at_most else ">="
        lines.append(
            f"  {'PASS' if passed else 'FAIL'}  {text}: {ratio:.2f}x ({sign} {target.limit:.1f}x)"
        )
    return lines


def target_verdicts(result: BenchResult) -> dict[str, bool | None]:
    """Each target's outcome (None when a side was not measured), for scripts and tests."""
    verdicts: dict[str, bool | None] = {}
    for target in TARGETS:
        ratio = result.ratio(target.metric, OURS, target.peer)
        if ratio is None:
            verdicts[target.metric] = None
        else:
            verdicts[target.metric] = (
                ratio <= target.limit if target.at_most else ratio >= target.limit
            )
    return verdicts


def to_json(result: BenchResult) -> str:
    """Every sample, the medians and the target verdicts."""
    document = {
        "config": asdict(result.config),
        "clients": {client.key: client.label for client in result.clients},
        "samples": result.samples,
        "medians": {
            metric: {key: result.median(metric, key) for key in per_client}
            for metric, per_client in result.samples.items()
        },
        "targets": target_verdicts(result),
    }
    return json.dumps(document, indent=2)


def _cell(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _times(ratio: float | None) -> str:
    return "   n/a" if ratio is None else f"{ratio:5.2f}x"


def _size(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"

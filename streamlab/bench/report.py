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
    Row("startup_deployed_ms", "start-up as deployed (ms)", 1, False),
    Row("first_response_deployed_ms", "first response as deployed (ms)", 1, False),
    Row("startup_sources_ms", "start-up, layer sources only (ms)", 1, False),
    Row("first_response_sources_ms", "first response, layer sources only (ms)", 1, False),
    Row("startup_typed_ms", "start-up as deployed, typed handler (ms)", 1, False),
    Row("first_response_typed_ms", "first response as deployed, typed handler (ms)", 1, False),
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
    at_most: bool = False  # the figure must stay at or below the limit (times, not rates)
    difference: bool = False  # ours minus the peer (medians), not the median of ratios

    def figure(self, result: BenchResult) -> float | None:
        if not self.difference:
            return result.ratio(self.metric, OURS, self.peer)
        ours, peer = result.median(self.metric, OURS), result.median(self.metric, self.peer)
        return None if ours is None or peer is None else ours - peer

    def passed(self, figure: float) -> bool:
        return figure <= self.limit if self.at_most else figure >= self.limit

    def describe(self, figure: float) -> str:
        sign = "<=" if self.at_most else ">="
        if self.difference:
            return f"{figure:+.1f} ms ({sign} {self.limit:g} ms)"
        return f"{figure:.2f}x ({sign} {self.limit:.1f}x)"


TARGETS = (
    Target("noop_buffered", "awslambdaric", "buffered no-op >= 1.5x awslambdaric", 1.5),
    Target("noop_streamed", "node", "streamed no-op >= 2.5x the Node client", 2.5),
    Target("bulk", "node", "{bulk} throughput >= 1.0x the Node client", 1.0),
    Target(
        "startup_deployed_ms",
        "awslambdaric",
        "start-up as deployed <= 0.6x awslambdaric",
        0.6,
        at_most=True,
    ),
    Target(
        "first_response_deployed_ms",
        "awslambdaric",
        "first response as deployed <= 0.8x awslambdaric",
        0.8,
        at_most=True,
    ),
    Target(
        "startup_deployed_ms",
        "ceiling",
        "start-up as deployed within 8 ms of the bare socket client",
        8.0,
        at_most=True,
        difference=True,
    ),
)
OURS = "ours"


def render(result: BenchResult) -> str:
    """The whole report as text."""
    config = result.config
    names = {"bulk": _size(config.bulk_bytes), "piece": _size(config.piece_bytes)}
    clients = list(result.clients)
    width = max(16, *(len(client.label) + 2 for client in clients))
    first = 50
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
        "and a figure close to it says more about the server than about the client. Its",
        "start-up is the floor: a bare interpreter opening one socket.",
        "Start-up is spawn to first 'next' (Lambda's Init Duration); first response is spawn",
        "to the end of the first answer, its event waiting as on a cold invocation. Handlers",
        "on a read-only task root, nothing written to __pycache__, as in Lambda; 'as deployed'",
        "runs our layer from a read-only copy of the zip `make layer` builds when it holds .pyc",
        "for the interpreter (else from its sources), 'sources only' from its sources alone.",
        f"Our layer as deployed: {result.layer_origin or 'not measured'}.",
        "Start-up handlers live in a module importing nothing, so the figure is the runtime's",
        "own; 'typed handler' is the no-op with `from typing import Any`: typing brings re and",
        "collections, which awslambdaric loads for itself anyway and our runtime does not.",
        "Peers run as installed.",
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
        lines.append("  " + row.title.format(**names).ljust(48) + "   ".join(cells))
    return lines


def _target_lines(result: BenchResult, names: dict[str, str]) -> list[str]:
    lines = ["", "targets (ratios: median of per-round ratios of ours to the peer):"]
    for target in TARGETS:
        figure = target.figure(result)
        text = target.text.format(**names)
        if figure is None:
            lines.append(f"  SKIP  {text} (not measured)")
            continue
        verdict = "PASS" if target.passed(figure) else "FAIL"
        lines.append(f"  {verdict}  {text}: {target.describe(figure)}")
    return lines


def target_verdicts(result: BenchResult) -> dict[str, bool | None]:
    """Each target's outcome (None when a side was not measured), for scripts and tests."""
    verdicts: dict[str, bool | None] = {}
    for target in TARGETS:
        figure = target.figure(result)
        verdicts[target.text] = None if figure is None else target.passed(figure)
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

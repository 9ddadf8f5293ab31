"""``streamlab bench runtime``: our runtime against AWS's Python and Node.js clients.

Rounds alternate the clients (A B C A B C ...) so that a noisy neighbour slows all of them,
and ratios are taken within a round before the median: the machine is shared and noisy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from streamlab.bench import measure
from streamlab.bench.clients import STREAM_BOOTSTRAP, RuntimeClient, Workload
from streamlab.bench.deployed import DeployedTree, deployed_tree
from streamlab.bench.samples import RoundSamples

MiB = 1024 * 1024
NOOP_EVENT = b'{"bench": "noop"}'


@dataclass(frozen=True)
class BenchConfig:
    rounds: int = 5
    seconds: float = 2.0  # measured window of each no-op run
    warmup_s: float = 0.3
    bulk_bytes: int = 64 * MiB
    piece_bytes: int = 64 * 1024
    bulk_count: int = 8  # measured bodies per bulk run (after one warm-up body)
    startups: int = 5  # start-up samples per client and round

    @classmethod
    def quick(cls) -> BenchConfig:
        """A smoke test in a few seconds: every code path, figures too noisy to judge by."""
        return cls(
            rounds=1, seconds=0.25, warmup_s=0.05, bulk_bytes=4 * MiB, bulk_count=1, startups=1
        )


@dataclass(kw_only=True)
class BenchResult(RoundSamples):
    config: BenchConfig
    clients: Sequence[RuntimeClient]
    layer_origin: str = ""  # what "as deployed" ran our runtime from

    def add(self, metric: str, client: RuntimeClient, value: float | None) -> None:
        self.record(metric, client.key, value)


WORKLOAD_METRIC = {
    Workload.NOOP_BUFFERED: "noop_buffered",
    Workload.NOOP_STREAMED: "noop_streamed",
    Workload.BULK: "bulk",
}


def run_bench(
    clients: Sequence[RuntimeClient],
    config: BenchConfig,
    progress: Callable[[str], None] = lambda line: None,
) -> BenchResult:
    return asyncio.run(_run(clients, config, progress))


async def _run(
    clients: Sequence[RuntimeClient], config: BenchConfig, progress: Callable[[str], None]
) -> BenchResult:
    result = BenchResult(config=config, clients=clients)
    python = next((c.argv[1] for c in clients if _is_ours(c) and len(c.argv) > 1), sys.executable)
    with deployed_tree(python) as tree:
        result.layer_origin = tree.origin
        progress(f"our layer as deployed: {tree.origin}")
        starts = cold_start_runs(clients, tree)
        for _, client in starts:  # unmeasured: fails fast with the client's log
            await measure.cold_start(client, NOOP_EVENT)
        for number in range(1, config.rounds + 1):
            progress(f"round {number}/{config.rounds}")
            for workload in Workload:
                for client in clients:
                    if client.supports(workload):
                        await _measure(result, client, workload)
            await _measure_startups(result, starts)
    return result


# Start-up variants, each giving "startup_<variant>_ms" (to the first next) and
# "first_response_<variant>_ms": our layer as deployed ("deployed": the built zip, with .pyc,
# when there is one for the interpreter) or from its sources alone ("sources"), both with a
# handler module importing nothing; and as deployed with the typed no-op handler ("typed",
# buffered.py: `from typing import Any`), to show what a handler's imports add.
VARIANTS = ("deployed", "sources", "typed")


def cold_start_runs(
    clients: Sequence[RuntimeClient], tree: DeployedTree
) -> list[tuple[tuple[str, ...], RuntimeClient]]:
    """What to start, each with the variants its figures count for: our runtime once per
    variant; a peer (which has no layer) once with each handler, or once for all three if its
    no-op handler imports nothing already (Node's, the ceiling's)."""
    runs: list[tuple[tuple[str, ...], RuntimeClient]] = []
    for client in clients:
        trivial = client.for_startup()
        if _is_ours(client):
            runs += [
                (("deployed",), as_deployed(trivial, tree)),
                (("sources",), as_deployed(trivial, tree, sources=True)),
                (("typed",), as_deployed(client, tree)),
            ]
        elif trivial is not client:
            runs += [
                (("deployed", "sources"), as_deployed(trivial, tree)),
                (("typed",), as_deployed(client, tree)),
            ]
        else:
            runs.append((VARIANTS, as_deployed(client, tree)))
    return runs


def _is_ours(client: RuntimeClient) -> bool:
    return bool(client.argv) and client.argv[0].endswith(STREAM_BOOTSTRAP.name)


def as_deployed(client: RuntimeClient, tree: DeployedTree, sources: bool = False) -> RuntimeClient:
    """``client`` started as Lambda starts it: handlers from a read-only task root, nothing
    written to ``__pycache__``, and for our runtime the layer from its read-only copy (as
    deployed, or its sources alone)."""
    argv = client.argv
    if _is_ours(client):
        layer = tree.sources if sources else tree.layer
        argv = (str(layer / STREAM_BOOTSTRAP.name), *argv[1:])
    env = {**client.env, "PYTHONDONTWRITEBYTECODE": "1"}
    return dataclasses.replace(client, argv=argv, env=env, task_root=tree.task_root)


async def _measure_startups(
    result: BenchResult, runs: Sequence[tuple[tuple[str, ...], RuntimeClient]]
) -> None:
    """``startups`` cold starts of each run, all alternating (so a noisy moment hits every
    client and variant alike); the round's figures are medians."""
    samples: list[tuple[list[float], list[float]]] = [([], []) for _ in runs]
    for _ in range(result.config.startups):
        for (_, client), (inits, answers) in zip(runs, samples, strict=True):
            init_s, answered_s = await measure.cold_start(client, NOOP_EVENT)
            inits.append(1000 * init_s)
            answers.append(1000 * answered_s)
    for (variants, client), (inits, answers) in zip(runs, samples, strict=True):
        for variant in variants:
            result.add(f"startup_{variant}_ms", client, statistics.median(inits))
            result.add(f"first_response_{variant}_ms", client, statistics.median(answers))


async def _measure(result: BenchResult, client: RuntimeClient, workload: Workload) -> None:
    config = result.config
    metric = WORKLOAD_METRIC[workload]
    async with measure.running(client, workload) as run:
        if workload is Workload.BULK:
            rate = await measure.bulk(
                run, config.bulk_bytes, config.piece_bytes, count=config.bulk_count
            )
            result.add(metric, client, rate.body_bytes / MiB / rate.seconds)
            per = 1e6 / (rate.body_bytes / MiB)  # µs per MiB
        else:
            rate = await measure.rate(
                run, NOOP_EVENT, warmup_s=config.warmup_s, seconds=config.seconds
            )
            result.add(metric, client, rate.per_second)
            per = 1e6 / rate.count if rate.count else 0.0  # µs per invocation
    if rate.client_cpu_s is not None:
        result.add(f"{metric}_cpu", client, rate.client_cpu_s * per)
    if rate.seconds > 0:
        result.add(f"{metric}_server", client, 100 * rate.server_cpu_s / rate.seconds)

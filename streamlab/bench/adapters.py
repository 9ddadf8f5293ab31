"""What ``bench asgi`` and ``bench wsgi`` share: one small app through several adapters.

Each adapter runs the same app as its own process against a fresh local Runtime API, one after
the other in every round (A B A B ...). Measured: invocations per second and client CPU on a
small JSON route (one event always queued ahead, as in ``bench runtime``), and on a streaming
route (parts ``gap_ms`` apart) the time from the event to the first part and to the end of the
response. The app must answer ``/json`` with ``EXPECTED_JSON`` and ``/stream?parts=N&gap_ms=G``
with ``part 0`` ... ``part N-1``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from streamlab.bench import clients, measure
from streamlab.bench.clients import RuntimeClient, Workload
from streamlab.bench.samples import RoundSamples
from streamlab.emulator.invocation import BodyChunk, InvocationEnd, ResponseHead

OURS, OURS_BUFFERED = "ours", "ours-buffered"
FIRST_PART = b"part 0"
EXPECTED_JSON = {"ok": True, "items": [1, 2, 3]}


def ours(adapter: str, handler: str, python: str) -> list[RuntimeClient]:
    """Our adapter streaming under stream-bootstrap, and the same handler in BUFFERED mode:
    the adapter's costs without the stream's beside them."""
    return [
        RuntimeClient(
            key=key,
            label=f"lambda_streaming.{adapter} ({label})",
            argv=(str(clients.STREAM_BOOTSTRAP), python),
            handlers={workload: handler},
            env={"STREAM_INVOKE_MODE": mode},
        )
        for key, label, workload, mode in (
            (OURS, "streamed", Workload.NOOP_STREAMED, "RESPONSE_STREAM"),
            (OURS_BUFFERED, "STREAM_INVOKE_MODE=BUFFERED", Workload.NOOP_BUFFERED, "BUFFERED"),
        )
    ]


def on_our_runtime(key: str, label: str, handler: str, python: str) -> RuntimeClient:
    """A peer's buffered handler under our runtime: only the adapter differs from ours."""
    return RuntimeClient(
        key=key,
        label=f"{label} (buffered, our runtime)",
        argv=(str(clients.STREAM_BOOTSTRAP), python),
        handlers={Workload.NOOP_BUFFERED: handler},
    )


def on_stock_client(key: str, label: str, handler: str, python: str) -> RuntimeClient:
    """A peer as its users deploy it: under AWS's stock client, awslambdaric."""
    stock = f"awslambdaric {package_version('awslambdaric')}"
    return RuntimeClient(
        key=key,
        label=f"{label} (buffered, {stock})",
        argv=(python, "-m", "awslambdaric", "{handler}"),
        handlers={Workload.NOOP_BUFFERED: handler},
        env={"PYTHONPATH": str(clients.HANDLERS_DIR)},
    )


def function_url_event(path: str, query: str = "") -> bytes:
    """A minimal payload-2.0 GET, as a Function URL sends it."""
    return json.dumps(
        {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": {"host": "bench.lambda-url.us-east-1.on.aws", "x-forwarded-proto": "https"},
            "requestContext": {
                "domainName": "bench.lambda-url.us-east-1.on.aws",
                "http": {
                    "method": "GET",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "bench",
                },
                "requestId": "bench",
                "routeKey": "$default",
                "stage": "$default",
            },
            "isBase64Encoded": False,
        }
    ).encode()


@dataclass(frozen=True)
class AdapterBenchConfig:
    rounds: int = 5
    seconds: float = 2.0  # measured window of each JSON-route run
    warmup_s: float = 0.3
    parts: int = 5
    gap_ms: int = 100
    streams: int = 3  # streaming-route invocations per client and round (after one warm-up)

    @classmethod
    def quick(cls) -> AdapterBenchConfig:
        return cls(rounds=1, seconds=0.3, warmup_s=0.1, parts=3, gap_ms=50, streams=1)


@dataclass(kw_only=True)
class AdapterBenchResult(RoundSamples):
    config: AdapterBenchConfig
    clients: Sequence[RuntimeClient]
    first_part_with_end: dict[str, bool] = field(default_factory=dict)

    def add(self, metric: str, key: str, value: float) -> None:
        self.record(metric, key, value)


def run_adapter_bench(
    clients: Sequence[RuntimeClient],
    config: AdapterBenchConfig,
    progress: Callable[[str], None] = lambda line: None,
) -> AdapterBenchResult:
    return asyncio.run(_run(clients, config, progress))


async def _run(
    clients: Sequence[RuntimeClient], config: AdapterBenchConfig, progress: Callable[[str], None]
) -> AdapterBenchResult:
    result = AdapterBenchResult(config=config, clients=clients)
    json_event = function_url_event("/json")
    stream_event = function_url_event("/stream", f"parts={config.parts}&gap_ms={config.gap_ms}")
    for number in range(1, config.rounds + 1):
        progress(f"round {number}/{config.rounds}")
        for client in clients:
            workload = next(iter(client.handlers))
            async with measure.running(client, workload) as run:
                await _expect_json_route(run, json_event)
                rate = await measure.rate(
                    run, json_event, warmup_s=config.warmup_s, seconds=config.seconds
                )
                result.add("json_rps", client.key, rate.per_second)
                if rate.client_cpu_s is not None and rate.count:
                    result.add("json_cpu_us", client.key, 1e6 * rate.client_cpu_s / rate.count)
                await _follow(run, stream_event)  # warm-up
                firsts, ends, together = [], [], True
                for _ in range(config.streams):
                    first, end = await _follow(run, stream_event)
                    firsts.append(first)
                    ends.append(end)
                    together = together and end - first < 0.25 * config.gap_ms
                result.add("first_part_ms", client.key, statistics.median(firsts))
                result.add("end_ms", client.key, statistics.median(ends))
                result.first_part_with_end[client.key] = together
    return result


async def _expect_json_route(run: measure.RunningClient, event: bytes) -> None:
    """One checked answer before timing: status 200 and the app's JSON, either way it came."""
    data = bytearray()
    async for item in run.server.submit(event, timeout_s=measure.INVOKE_TIMEOUT_S):
        if type(item) is BodyChunk:
            data += item.data  # type: ignore[union-attr]
        elif type(item) is InvocationEnd and item.error is not None:  # type: ignore[union-attr]
            raise run.failure(f"invocation failed: {item.error.error_message}")  # type: ignore[union-attr]
    prelude, found, body = bytes(data).partition(b"\x00" * 8)
    if found:
        status = json.loads(prelude).get("statusCode")
    else:
        document = json.loads(data)
        status, body = document.get("statusCode"), document.get("body", "").encode()
    if status != 200 or json.loads(body) != EXPECTED_JSON:
        raise run.failure(f"unexpected answer from the JSON route: {bytes(data)[:300]!r}")


async def _follow(run: measure.RunningClient, event: bytes) -> tuple[float, float]:
    """Milliseconds from the event to the first part's bytes and to the response's end."""
    started = time.monotonic()
    seen = bytearray()
    first: float | None = None
    streamed = None
    async for item in run.server.submit(event, timeout_s=measure.INVOKE_TIMEOUT_S):
        kind = type(item)
        if kind is ResponseHead:
            streamed = item.streaming  # type: ignore[union-attr]
        elif kind is BodyChunk and first is None:
            seen += item.data  # type: ignore[union-attr]
            if FIRST_PART in seen:
                first = time.monotonic()
        elif kind is InvocationEnd and item.error is not None:  # type: ignore[union-attr]
            raise run.failure(f"stream failed: {item.error.error_message}")  # type: ignore[union-attr]
    ended = time.monotonic()
    if first is None:
        raise run.failure(f"the first part never arrived (streamed={streamed})")
    return 1000 * (first - started), 1000 * (ended - started)


def render(
    result: AdapterBenchResult, ours: str, peers: Sequence[str], targets: Mapping[str, float]
) -> str:
    """The figures per client, then ``ours`` against each of ``peers``: the JSON route's ratio
    (with a verdict where ``targets`` names the least it should be) and where each one's first
    streamed part came."""
    config = result.config
    app_ms = (config.parts - 1) * config.gap_ms
    width = max(22, *(len(client.key) + 2 for client in result.clients))
    lines = [
        f"{'':44}" + "".join(f"{client.key:>{width}}" for client in result.clients),
        _row(result, width, "json_rps", "JSON route (invocations/s)", 0),
        _row(result, width, "json_cpu_us", "JSON route, client CPU per invocation (µs)", 0),
        _row(result, width, "first_part_ms", f"stream: first of {config.parts} parts (ms)", 1),
        _row(result, width, "end_ms", f"stream: end, app takes {app_ms} ms (ms)", 1),
        "",
    ]
    for other in peers:
        ratio = result.ratio("json_rps", ours, other)
        cpu = result.ratio("json_cpu_us", other, ours)
        if ratio is not None:
            cpu_text = f"; {cpu:.2f}x less client CPU" if cpu is not None else ""
            target = targets.get(other)
            if target is not None:
                verdict = "met" if ratio >= target else "NOT met"
                cpu_text += f" (target >= {target}x: {verdict})"
            lines.append(f"JSON route: {ours} {ratio:.2f}x {other}'s invocations/s{cpu_text}")
    ours_first = result.median("first_part_ms", ours)
    if ours_first is not None:
        verdict = "met" if ours_first < app_ms else "NOT met"
        lines.append(
            f"stream: our first part after {ours_first:.0f} ms, the app ends at {app_ms} ms "
            f"(first part before the app finishes: {verdict})"
        )
    for other in peers:
        first = result.median("first_part_ms", other)
        if first is not None:
            together = result.first_part_with_end.get(other)
            lines.append(
                f"stream: {other} first part after {first:.0f} ms, "
                + ("with the whole body" if together else "before the end")
            )
    return "\n".join(lines)


def _row(result: AdapterBenchResult, width: int, metric: str, title: str, digits: int) -> str:
    cells = []
    for client in result.clients:
        value = result.median(metric, client.key)
        cells.append(f"{'-' if value is None else f'{value:.{digits}f}':>{width}}")
    return f"{title:44}" + "".join(cells)


def package_version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "(not installed)"

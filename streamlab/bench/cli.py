"""The ``bench`` subcommand: ``python -m streamlab bench runtime [options]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streamlab.bench import clients as runtime_clients
from streamlab.bench.measure import ClientFailed
from streamlab.bench.runtime import BenchConfig, MiB, run_bench

CLIENT_KEYS = ("ours", "awslambdaric", "node")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Registers ``bench`` (and its ``runtime`` benchmark) on the streamlab command line."""
    bench = subparsers.add_parser("bench", help="benchmarks")
    kinds = bench.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    runtime = kinds.add_parser(
        "runtime",
        help="our runtime vs awslambdaric and AWS's Node.js client, against one Runtime API",
        description=(
            "Runs our runtime (stream-bootstrap), the stock Python client awslambdaric and AWS's "
            "Node.js client aws-lambda-ric one after another against the same local Runtime API "
            "and prints no-op invocations per second (buffered and streamed), streamed "
            "throughput, start-up time, the server's own ceiling, and the issue's targets."
        ),
    )
    defaults = BenchConfig()
    runtime.add_argument("--rounds", type=int, default=defaults.rounds, help="alternating rounds")
    runtime.add_argument(
        "--seconds", type=float, default=defaults.seconds, help="measured window per no-op run"
    )
    runtime.add_argument(
        "--warmup", type=float, default=defaults.warmup_s, help="unmeasured seconds first"
    )
    runtime.add_argument(
        "--bulk-mib", type=float, default=defaults.bulk_bytes / MiB, help="streamed body size"
    )
    runtime.add_argument(
        "--piece-kib", type=float, default=defaults.piece_bytes / 1024, help="size of each write"
    )
    runtime.add_argument(
        "--bulk-count", type=int, default=defaults.bulk_count, help="measured bodies per bulk run"
    )
    runtime.add_argument(
        "--startups", type=int, default=defaults.startups, help="start-ups per client and round"
    )
    runtime.add_argument(
        "--quick", action="store_true", help="smoke test: a few seconds, figures only indicative"
    )
    runtime.add_argument(
        "--clients",
        default=",".join(CLIENT_KEYS),
        help=f"comma-separated subset of {','.join(CLIENT_KEYS)} (the server ceiling always runs)",
    )
    runtime.add_argument(
        "--python", default=sys.executable, help="interpreter for ours and awslambdaric"
    )
    runtime.add_argument(
        "--node-dir",
        type=Path,
        default=runtime_clients.REPO_ROOT / ".bench",
        help="npm prefix holding aws-lambda-ric (installed there if missing)",
    )
    runtime.add_argument(
        "--no-install", action="store_true", help="fail instead of running npm install"
    )
    runtime.add_argument("--json", type=Path, help="also write every sample to this JSON file")
    runtime.set_defaults(func=run_runtime_bench)
    _add_adapter_bench(
        kinds,
        "asgi",
        help="one FastAPI app through lambda_streaming.asgi vs Mangum, against one Runtime API",
        description=(
            "Runs the same small FastAPI app through our ASGI adapter (streamed, and buffered) "
            "and through Mangum (under our runtime and under awslambdaric), alternating, against "
            "local Runtime APIs: invocations per second on a JSON route, and on a streaming "
            "route the time to the first part and to the end."
        ),
        stock="Mangum",
    )
    _add_adapter_bench(
        kinds,
        "wsgi",
        help="one Flask app through lambda_streaming.wsgi vs apig-wsgi and serverless-wsgi",
        description=(
            "Runs the same small Flask app through our WSGI adapter (streamed, and buffered), "
            "through apig-wsgi (under our runtime and under awslambdaric) and through "
            "serverless-wsgi (under awslambdaric, if installed), alternating, against local "
            "Runtime APIs: invocations per second on a JSON route, and on a streaming route "
            "the time to the first part and to the end."
        ),
        stock="apig-wsgi and serverless-wsgi",
    )


def _add_adapter_bench(
    kinds: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    description: str,
    stock: str,
) -> None:
    """``bench asgi`` and ``bench wsgi``: the same options, one app through several adapters."""
    bench = kinds.add_parser(name, help=help, description=description)
    bench.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    bench.add_argument("--seconds", type=float, default=2.0, help="measured window per JSON run")
    bench.add_argument("--parts", type=int, default=5, help="parts of the streamed response")
    bench.add_argument("--gap-ms", type=int, default=100, help="pause between streamed parts")
    bench.add_argument("--streams", type=int, default=3, help="streamed responses per round")
    bench.add_argument("--quick", action="store_true", help="smoke test: figures only indicative")
    bench.add_argument(
        "--no-stock", action="store_true", help=f"leave out {stock} under awslambdaric"
    )
    bench.add_argument("--python", default=sys.executable, help="interpreter for every client")
    bench.set_defaults(func=run_adapters)


def run_runtime_bench(args: argparse.Namespace) -> int:
    from streamlab.bench import report  # imported late: the CLI's start-up stays light

    config = BenchConfig.quick() if args.quick else _config(args)
    try:
        clients = _clients(args)
    except runtime_clients.SetupError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    print(
        f"bench runtime: {', '.join(client.label for client in clients)}; Python {args.python}",
        flush=True,
    )
    try:
        result = run_bench(clients, config, progress=lambda line: print(line, flush=True))
    except ClientFailed as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    print()
    print(report.render(result))
    if args.json is not None:
        args.json.write_text(report.to_json(result) + "\n")
    return 0


def _config(args: argparse.Namespace) -> BenchConfig:
    for name in ("rounds", "bulk_count", "startups"):
        if getattr(args, name) < 1:
            raise SystemExit(f"bench: --{name.replace('_', '-')} must be at least 1")
    if args.seconds <= 0 or args.warmup < 0 or args.bulk_mib <= 0 or args.piece_kib <= 0:
        raise SystemExit("bench: durations and sizes must be positive")
    return BenchConfig(
        rounds=args.rounds,
        seconds=args.seconds,
        warmup_s=args.warmup,
        bulk_bytes=int(args.bulk_mib * MiB),
        piece_bytes=int(args.piece_kib * 1024),
        bulk_count=args.bulk_count,
        startups=args.startups,
    )


def _clients(args: argparse.Namespace) -> list[runtime_clients.RuntimeClient]:
    wanted = [key.strip() for key in args.clients.split(",") if key.strip()]
    unknown = sorted(set(wanted) - set(CLIENT_KEYS))
    if unknown:
        raise SystemExit(f"bench: unknown client(s) {', '.join(unknown)}; pick from {CLIENT_KEYS}")
    chosen = [runtime_clients.minimal(args.python)]
    if "ours" in wanted:
        if not runtime_clients.STREAM_BOOTSTRAP.exists():
            raise runtime_clients.SetupError(f"{runtime_clients.STREAM_BOOTSTRAP} is missing")
        chosen.append(runtime_clients.ours(args.python))
    if "awslambdaric" in wanted:
        chosen.append(runtime_clients.awslambdaric(args.python))
    if "node" in wanted:
        node_dir = args.node_dir.resolve()
        node_exe = runtime_clients.ensure_node_client(node_dir, install=not args.no_install)
        chosen.append(runtime_clients.node(node_dir, node_exe))
    return chosen


def run_adapters(args: argparse.Namespace) -> int:
    """``bench asgi`` or ``bench wsgi``: the adapters of ``args.bench`` on one app."""
    import importlib  # imported late: the CLI's start-up stays light

    from streamlab.bench import adapters

    module = importlib.import_module(f"streamlab.bench.{args.bench}")
    if args.quick:
        config = adapters.AdapterBenchConfig.quick()
    else:
        if args.rounds < 1 or args.streams < 1 or args.parts < 2:
            raise SystemExit("bench: --rounds and --streams must be >= 1, --parts >= 2")
        if args.seconds <= 0 or args.gap_ms <= 0:
            raise SystemExit("bench: --seconds and --gap-ms must be positive")
        config = adapters.AdapterBenchConfig(
            rounds=args.rounds,
            seconds=args.seconds,
            parts=args.parts,
            gap_ms=args.gap_ms,
            streams=args.streams,
        )
    clients = module.adapters(args.python, stock=not args.no_stock)
    labels = "; ".join(c.label for c in clients)
    print(f"bench {args.bench}: {labels}; Python {args.python}", flush=True)
    try:
        result = adapters.run_adapter_bench(
            clients, config, progress=lambda line: print(line, flush=True)
        )
    except ClientFailed as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    print()
    print(module.render(result))
    return 0

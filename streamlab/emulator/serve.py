"""``streamlab serve``: load the template, start engine and HTTP server, run until stopped."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web

from streamlab.emulator.invocation import Engine
from streamlab.emulator.server import EmulatorServer, RouteSetup

log = logging.getLogger("streamlab.emulator")

# Modules that add pages to the server (``setup_routes(app, engine)``), mounted when present.
PAGE_MODULES: tuple[str, ...] = ("streamlab.emulator.page", "streamlab.compare.page")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="local Function URLs and REST APIs that really stream, plus the Lambda API for boto3",
        description=(
            "Serves every function of a SAM template that has a FunctionUrlConfig at "
            "http://HOST:PORT/<LogicalId>/ and every REST API stage (Api events) at "
            "http://HOST:PORT/<ApiLogicalId>/<StageName>/, running each function's real "
            "runtime, and answers "
            "boto3's invoke / invoke_with_response_stream (endpoint_url=http://HOST:PORT). "
            "Functions see only what Lambda gives them (the standard library, the runtime's "
            "boto3/botocore and stock client, their layers and code), installed once into "
            "~/.cache/streamlab (STREAMLAB_CACHE_DIR)."
        ),
    )
    parser.add_argument("--template", "-t", default="template.yaml", help="SAM template")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", "-p", type=int, default=3000, help="port (0: any free port)")
    parser.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=None,
        metavar="OVERRIDE",
        help="template parameters, as sam takes them: Key=Value ...",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=10,
        help=(
            "invocations in flight across the whole emulator, like an account's concurrency "
            "limit; requests beyond it get 429 (default 10). A function's "
            "ReservedConcurrentExecutions caps it alone."
        ),
    )
    parser.add_argument(
        "--use-venv",
        action="store_true",
        help=(
            "run functions with this virtual environment on their path (quick hacking; "
            "imports that fail on Lambda may work here), instead of only what Lambda gives "
            "them: the standard library, the runtime's boto3/botocore and stock client, "
            "their layers and code"
        ),
    )
    parser.add_argument(
        "--build-dir",
        default=None,
        metavar="DIR",
        help=(
            "run what `sam build` produced (e.g. .aws-sam/build): its template.yaml and "
            "artifacts, dependencies already bundled; without it a function's "
            "requirements.txt is installed into the emulator's cache"
        ),
    )
    parser.add_argument(
        "--no-limits",
        action="store_true",
        help=(
            "lift Lambda's bandwidth and response size caps for quick local work (by default, "
            "as on Lambda: a streamed response gets 6 MiB uncapped, then 2 MiB/s, 10 MiB "
            "behind a REST stage; at most 200 MiB streamed, 6 MB buffered)"
        ),
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="accept unsigned requests on AWS_IAM Function URLs, REST methods and the Lambda API",
    )
    parser.set_defaults(func=run)


def page_route_setups() -> list[RouteSetup]:
    """The present page modules' ``setup_routes``; one that fails is logged, not fatal."""
    setups: list[RouteSetup] = []
    for name in PAGE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue
            log.exception("page module %s cannot be imported; serving without it", name)
            continue
        setups.append(_guarded(name, module.setup_routes))
    return setups


def _guarded(name: str, setup: RouteSetup) -> RouteSetup:
    def mount(app: web.Application, engine: Engine) -> None:
        try:
            setup(app, engine)
        except Exception:
            log.exception("page module %s failed to mount; serving without it", name)

    return mount


def run(args: argparse.Namespace) -> int:
    from streamlab.emulator.template import TemplateError

    try:
        return asyncio.run(serve(args))
    except TemplateError as exc:
        print(f"streamlab serve: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def serve(args: argparse.Namespace) -> int:
    from streamlab.emulator.engine import Engine as LocalEngine
    from streamlab.emulator.limits import LAMBDA_LIMITS, NO_LIMITS
    from streamlab.emulator.provision import ProvisionError
    from streamlab.emulator.rest_template import load_rest_apis

    overrides = " ".join(args.parameter_overrides) if args.parameter_overrides else None
    template = Path(args.template)
    if args.build_dir:
        template = Path(args.build_dir) / "template.yaml"
        if not template.is_file():
            print(
                f"streamlab serve: no {template}: run `sam build` first (or leave out --build-dir)",
                file=sys.stderr,
            )
            return 2
    if args.use_venv:
        print(
            "NOTE: --use-venv: functions see this virtual environment's packages; "
            "what imports here may fail on Lambda with Runtime.ImportModuleError",
            flush=True,
        )
    limits = NO_LIMITS if args.no_limits else LAMBDA_LIMITS
    engine = LocalEngine.from_template(
        template,
        overrides,
        max_concurrency=args.max_concurrency,
        isolated=not args.use_venv,
        install_requirements=not args.build_dir,
        limits=limits,
    )
    rest_apis = load_rest_apis(template, overrides, function_names=set(engine.functions))
    server = EmulatorServer(
        engine,
        host=args.host,
        port=args.port,
        auth=not args.no_auth,
        route_setups=page_route_setups(),
        rest_apis=rest_apis,
        limits=limits,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await engine.start()
    except ProvisionError as exc:
        print(
            f"streamlab serve: {exc}\n(PyPI must be reachable the first time; --use-venv runs "
            "functions on this virtual environment instead)",
            file=sys.stderr,
        )
        await engine.stop()
        return 2
    try:
        await server.start()
        print_banner(server, auth=not args.no_auth)
        await stop.wait()
        print("stopping ...", flush=True)
    finally:
        await server.stop()
        await engine.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
    return 0


def print_banner(server: EmulatorServer, *, auth: bool) -> None:
    listings = server.listings()
    if not listings:
        print("no function in the template has a FunctionUrlConfig or an Api event", flush=True)
    for listing in listings:
        auth_note = "" if auth or listing.auth_type == "NONE" else " (not enforced: --no-auth)"
        print(
            f"{listing.url}  {listing.invoke_mode}  {listing.auth_type}{auth_note}"
            f"  [{listing.function_name}]",
            flush=True,
        )
    print(f"Lambda API for boto3: endpoint_url={server.base_url}", flush=True)
    print(server.limits.describe(), flush=True)
    if server.verifier is not None and not server.verifier.has_credentials:
        print(
            "WARNING: no local AWS credentials: every signed request (AWS_IAM URLs, Lambda API) "
            "will be refused. Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile, "
            "or use --no-auth.",
            flush=True,
        )
    print("Ctrl-C to stop", flush=True)

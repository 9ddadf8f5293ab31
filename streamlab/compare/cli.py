"""``streamlab compare``: measure, then write the report and its figure."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

from streamlab.compare.measure import Workload
from streamlab.compare.targets import Front, Target

DEFAULT_OUTPUT = Path("docs/comparison.md")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="measure buffered against streamed, and the three formats; write docs/comparison.md",
        description=(
            "Calls the raw text, SSE and JSON lines functions in RESPONSE_STREAM and BUFFERED "
            "mode, measures time to first byte / token, gaps, total time and bytes on the "
            "wire, and writes a Markdown report with a figure. Without --base-url or --stack "
            "it runs the local emulator from template.yaml itself."
        ),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--base-url", help="a running emulator (functions under BASE/<LogicalId>/)")
    where.add_argument(
        "--stack", help="a deployed stack: URLs from its outputs (needs DeployBufferedTwins=true)"
    )
    parser.add_argument("--region", help="AWS region of --stack (default: your configuration)")
    parser.add_argument(
        "--front",
        choices=("url", "rest"),
        default="url",
        help="where the streamed calls go: the Function URLs (default) or the REST API stage "
        "(buffered calls always use the twins' Function URLs)",
    )
    parser.add_argument(
        "--template", type=Path, default=Path("template.yaml"), help="template for the local run"
    )
    parser.add_argument("--runs", type=int, default=10, help="measured calls per URL (default 10)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted calls per URL first")
    parser.add_argument("--tokens", type=int, default=50, help="tokens per answer (default 50)")
    parser.add_argument(
        "--token-delay",
        type=int,
        default=20,
        metavar="MS",
        help="built-in generator's pause before each token (default 20 ms)",
    )
    parser.add_argument(
        "--export-mib",
        type=int,
        default=20,
        metavar="MIB",
        help="the large-export case: this many MiB streamed in each format, timed under "
        "Lambda's bandwidth caps (default 20; 0 leaves it out)",
    )
    parser.add_argument(
        "--export-runs", type=int, default=3, help="large-export calls per format (default 3)"
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="report (default docs/comparison.md)"
    )
    parser.add_argument(
        "--plot", type=Path, help="figure (default: the report's name with .svg; .png works too)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from streamlab.compare.local import EmulatorError

    numbers = (args.token_delay, args.warmup, args.export_mib, args.export_runs)
    if args.runs < 1 or args.tokens < 1 or min(numbers) < 0 or args.export_mib > 128:
        print(
            "streamlab compare: --runs and --tokens must be >= 1, --export-mib at most 128, "
            "the rest >= 0",
            file=sys.stderr,
        )
        return 2
    workload = Workload(tokens=args.tokens, token_delay_ms=args.token_delay)
    try:
        with _targets(args) as (targets, description):
            return _measure_and_write(args, targets, description, workload)
    except (LookupError, EmulatorError) as error:
        print(f"streamlab compare: {error}", file=sys.stderr)
        return 2


@contextlib.contextmanager
def _targets(args: argparse.Namespace) -> Iterator[tuple[list[Target], str]]:
    from streamlab.compare.targets import local_targets

    front: Front = "rest" if args.front == "rest" else "url"
    via = " (streamed through the REST API stage)" if front == "rest" else ""
    if args.base_url:
        yield local_targets(args.base_url, front), f"`{args.base_url}`{via}"
    elif args.stack:
        from streamlab.compare.stack import stack_targets

        targets = stack_targets(args.stack, args.region, front)
        yield targets, f"the deployed stack `{args.stack}`{via}"
    else:
        from streamlab.compare.local import LocalEmulator

        template = args.template.resolve()
        if not template.is_file():
            raise LookupError(f"no template at {template} (give --template, --base-url or --stack)")
        print(f"starting the local emulator for {template} ...", file=sys.stderr, flush=True)
        with LocalEmulator(template) as emulator:
            print(f"emulator listening at {emulator.base_url}", file=sys.stderr, flush=True)
            yield (
                local_targets(emulator.base_url, front),
                "the local emulator (`streamlab serve`, `template.yaml` with "
                f"`DeployBufferedTwins=true`) on the same machine{via}",
            )


def _measure_and_write(
    args: argparse.Namespace, targets: list[Target], description: str, workload: Workload
) -> int:
    from streamlab.compare.plot import write_plot
    from streamlab.compare.report import Machine, ReportContext, write_report
    from streamlab.compare.runner import run_all
    from streamlab.compare.stats import summarize

    results = run_all(targets, workload, args.runs, warmup=args.warmup)
    summaries = [summarize(t.fmt, t.mode, results) for t in targets]
    export = ""
    if args.export_mib and args.export_runs:
        from streamlab.compare.export import ExportCase, render_export, run_export

        front: Front = "rest" if args.front == "rest" else "url"
        case = ExportCase(mib=args.export_mib, runs=args.export_runs, front=front)
        export_summaries = run_export(targets, case)
        export = render_export(export_summaries, case)
        failed_exports = sum(s.failures for s in export_summaries)
        if failed_exports:
            print(f"{failed_exports} large-export calls failed", file=sys.stderr)
    failed = [r for r in results if not r.ok]
    if len(failed) == len(results):
        print("streamlab compare: every call failed; no report written", file=sys.stderr)
        return 1
    # A report with a hole would compare against nothing: better none than a misleading one.
    empty = [t.label for t, s in zip(targets, summaries, strict=True) if s.failures == s.runs]
    if empty:
        print(
            f"streamlab compare: no call succeeded for {', '.join(empty)}; no report written",
            file=sys.stderr,
        )
        return 1
    plot_path: Path = args.plot or args.output.with_suffix(".svg")
    write_plot(summaries, plot_path)
    context = ReportContext(
        target_description=description,
        command=_command_line(args),
        workload=workload,
        runs=args.runs,
        warmup=args.warmup,
        machine=Machine.this_one(),
        plot_name=_relative(plot_path, args.output.parent),
        export_section=export,
    )
    write_report(summaries, context, args.output)
    print(f"wrote {args.output} and {plot_path}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(results)} calls failed (see the report)", file=sys.stderr)
        return 1
    return 0


def _command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this report (no local paths, unlike sys.argv)."""
    words = ["python", "-m", "streamlab", "compare"]
    if args.base_url:
        words += ["--base-url", args.base_url]
    elif args.stack:
        words += ["--stack", args.stack]
    if args.front != "url":
        words += ["--front", args.front]
    words += ["--runs", str(args.runs), "--tokens", str(args.tokens)]
    words += ["--token-delay", str(args.token_delay)]
    words += ["--export-mib", str(args.export_mib), "--export-runs", str(args.export_runs)]
    return shlex.join(words)


def _relative(path: Path, start: Path) -> str:
    try:
        return path.resolve().relative_to(start.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()

"""docs/comparison.md: method, machine, tables, figure and a reading of the numbers.

The prose around the numbers is written to stay true whatever the numbers are; sentences
that depend on them are built from them.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from streamlab.compare.measure import Workload
from streamlab.compare.stats import Spread, Summary
from streamlab.compare.targets import FORMAT_LABELS, FORMATS, MODES, Format, Mode


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    python: str
    system: str

    @classmethod
    def this_one(cls) -> Machine:
        return cls(
            cpu=_cpu_model(),
            cores=os.cpu_count() or 1,
            python=f"{platform.python_implementation()} {platform.python_version()}",
            system=f"{platform.system()} {platform.release()} ({platform.machine()})",
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@dataclass(frozen=True)
class ReportContext:
    target_description: str  # e.g. "the local emulator (template.yaml, DeployBufferedTwins=true)"
    command: str
    workload: Workload
    runs: int
    warmup: int
    machine: Machine
    plot_name: str  # relative to the report
    export_section: str = ""  # the large-export case (export.py), when it ran


_ROWS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("time to first byte (response head)", "ttfb_s", lambda v: f"{v * 1000:.1f} ms"),
    ("time to first event", "first_event_s", lambda v: f"{v * 1000:.1f} ms"),
    ("time to first token", "first_token_s", lambda v: f"{v * 1000:.1f} ms"),
    ("gap between tokens", "gap_s", lambda v: f"{v * 1000:.1f} ms"),
    ("total time", "total_s", lambda v: f"{v * 1000:.1f} ms"),
    ("tokens received", "tokens", lambda v: f"{v:.0f}"),
    ("bytes on the wire (body + chunk framing)", "wire_bytes", lambda v: f"{v:,.0f} B"),
    ("framing overhead per token", "overhead_bytes_per_token", lambda v: f"{v:.1f} B"),
)


def render(summaries: Sequence[Summary], context: ReportContext) -> str:
    by_key = {(s.fmt, s.mode): s for s in summaries}
    sections = [
        _header(context),
        _headline(by_key),
        _method(context),
        _machine(context),
        _results(by_key, context),
        context.export_section,
        _reading(by_key, context.workload),
        _regenerate(),
    ]
    return "\n\n".join(section.strip("\n") for section in sections if section.strip()) + "\n"


def write_report(summaries: Sequence[Summary], context: ReportContext, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(summaries, context), encoding="utf-8")


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 1000:.0f} ms"


def _header(context: ReportContext) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"""
# Buffered or streamed? Raw text, SSE or JSON lines? Measured

Generated on {when} by `{context.command}` against {context.target_description}.
Every number below comes from that run; [regenerate it](#regenerate-it) against your own
deployment to get yours.
"""


def _headline(by_key: dict[tuple[Format, Mode], Summary]) -> str:
    def across(mode: Mode, metric: str) -> str:
        return " / ".join(_ms(getattr(by_key[(f, mode)], metric).median) for f in FORMATS)

    overhead = ", ".join(
        f"{FORMAT_LABELS[f]} {by_key[(f, 'streamed')].overhead_bytes_per_token.median:.1f} B"
        for f in FORMATS
    )
    formats = " / ".join(FORMAT_LABELS[f] for f in FORMATS)
    return f"""
## Headline

Medians, {formats}:

- **First token**: streamed {across("streamed", "first_token_s")}; buffered
  {across("buffered", "first_token_s")}. Buffered clients see nothing until the function
  has finished.
- **Total time**: streamed {across("streamed", "total_s")}; buffered
  {across("buffered", "total_s")}. Streaming does not make the work faster, it lets the
  reader start early.
- **Framing overhead per token** (streamed, bytes on the wire beyond the token text):
  {overhead}.
"""


def _method(context: ReportContext) -> str:
    w = context.workload
    return f"""
## Method

- Six Function URLs from one template: the three functions (raw text, SSE, JSON lines) in
  `RESPONSE_STREAM` mode and their `BUFFERED` twins (`DeployBufferedTwins=true`): same
  code, same layer, only the invoke mode differs.
- Every call asks the built-in generator (no model, so no model's variance) for
  {w.tokens} tokens, one every {w.token_delay_ms} ms
  (`?prompt=...&max_tokens={w.tokens}&token_delay_ms={w.token_delay_ms}`).
- {context.warmup} warm-up call per URL first (cold starts, not counted), then
  {context.runs} measured calls per URL, one at a time, in alternating order (A B ... then
  ... B A) so slow drift on the machine hits both modes alike.
- The client is Python: `requests` with `stream=True` for raw text and JSON lines,
  `sseclient-py` over the same chunk iterator for SSE. Each HTTP chunk is timestamped as
  it comes off the socket and each token carries the time of the chunk that completed it.
  *Time to first byte* is when the status line and headers arrived; *first event* is the
  first complete SSE event or JSON line (for raw text, the first token); *gap* is the time
  between consecutive tokens as the client saw them (all gaps of all runs pooled);
  *bytes on the wire* count the body plus HTTP/1.1 chunk framing, headers excluded;
  *framing overhead per token* is (wire bytes - token text bytes) / tokens, so it includes
  the status and done events of SSE and JSON lines.
- A call counts only if it delivered all {w.tokens} tokens and, for SSE and JSON lines,
  the final `done` event; failures are listed in the tables.
"""


def _machine(context: ReportContext) -> str:
    m = context.machine
    return f"""
## Machine

| | |
|---|---|
| CPU | {m.cpu} |
| cores | {m.cores} |
| Python | {m.python} |
| system | {m.system} |
"""


def _table(summary: Summary) -> str:
    lines = [
        f"### {FORMAT_LABELS[summary.fmt]}, {summary.mode}",
        "",
        f"{summary.runs} runs, {summary.failures} failed.",
        "",
        "| metric | median | p95 |",
        "|---|---:|---:|",
    ]
    for label, attribute, fmt in _ROWS:
        spread: Spread = getattr(summary, attribute)
        cells = ["n/a" if math.isnan(v) else fmt(v) for v in (spread.median, spread.p95)]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _results(by_key: dict[tuple[Format, Mode], Summary], context: ReportContext) -> str:
    tables = "\n\n".join(_table(by_key[(f, m)]) for f in FORMATS for m in MODES)
    return f"""
## Results

![Time to first token and total time, streamed and buffered, per format]({context.plot_name})

{tables}
"""


def _reading(by_key: dict[tuple[Format, Mode], Summary], workload: Workload) -> str:
    streamed_first = max(by_key[(f, "streamed")].first_token_s.median for f in FORMATS)
    buffered_first = min(by_key[(f, "buffered")].first_token_s.median for f in FORMATS)
    ratio = buffered_first / streamed_first if streamed_first > 0 else math.inf
    generation = workload.tokens * workload.token_delay_ms
    raw_first_byte = by_key[("raw", "streamed")].ttfb_s.median
    evented_first = max(by_key[(f, "streamed")].first_event_s.median for f in ("sse", "ndjson"))
    framing = {
        f: by_key[(f, "streamed")].wire_bytes.median - by_key[(f, "buffered")].wire_bytes.median
        for f in FORMATS
    }
    framing_text = ", ".join(f"{FORMAT_LABELS[f]} {framing[f]:+,.0f} B" for f in FORMATS)
    return f"""
## Reading

**What streaming buys.** The first token reaches a streamed client after
{_ms(streamed_first)} at most (median, slowest format), a buffered one after
{_ms(buffered_first)} at best: {ratio:.0f} times later, and the gap grows with the
answer (here about {generation} ms of generation). A buffered client sees the whole answer
in one piece when the function returns, so its time to first token equals its total time
and its gaps between tokens are zero. For a person reading a model's answer, that is
the difference between text appearing at once and a spinner for the whole generation.

**Signs of life.** SSE and JSON lines send a `status` event before the first token: their
first event arrived after {_ms(evented_first)} at most, while a raw text client got its
first byte only with the first token, after {_ms(raw_first_byte)}. With a slow model
(seconds to the first token), only the evented formats can tell "working" from "stuck".

**What it costs.** Total time stays about the same: the function does the same work.
On the wire, each chunk adds its HTTP/1.1 size line (streamed minus buffered bytes for
the same answer: {framing_text}), the status code and
headers are fixed before the first byte, so errors after that travel in band (the SSE
`error` event, the JSON `error` line, a bracketed notice in raw text), and the response
is never compressed. Streamed payloads may reach 200 MB (buffered: 6 MB), but the
function keeps running, and is billed, if the client goes away.

**Which format.**

- **Raw text** (`text/plain`): the least overhead and the simplest client: `curl -N URL`
  prints the answer as it is written. It has no room for metadata: no event ids, no
  final "done" message, so a client cannot tell a complete answer from a cut one except by
  the notice line our runtime appends. Good for humans at a terminal and for piping text.
- **SSE** (`text/event-stream`): made for browsers. `EventSource` parses it, dispatches
  named events (`status`, `error`, `done`) and reconnects by itself after a drop, sending
  `Last-Event-ID` (every token carries an `id`) after the `retry` interval. That
  reconnect is also its trap: a finished stream looks like a drop, so call `close()` on
  `done` or the browser invokes the function again. `EventSource` sends only GET without
  custom headers, so it cannot sign `AWS_IAM` requests: put it behind `AuthType: NONE`
  with CORS, or a signing proxy, or read SSE with `fetch` instead.
- **JSON lines** (`application/x-ndjson`): one JSON object per line, the natural format
  for programs and pipelines: `curl -N URL | jq -r 'select(.type == "token") .text'`,
  any language's line reader, and the same `status` / `error` / `done` messages as SSE.
  The most bytes per token of the three, which matters little next to what a model costs.

**Buffered** still fits when the caller needs the whole document anyway (a JSON API, a
webhook, a cache), when something between client and function buffers regardless, or
where the Lambda console and `sam local invoke` should show the result.
"""


def _regenerate() -> str:
    return """
## Regenerate it

Locally (starts the emulator on a free port from `template.yaml` with
`DeployBufferedTwins=true`, stops it at the end):

```sh
python -m streamlab compare --runs 10 --tokens 50 --token-delay 20
```

Against a deployed stack (the buffered twins must be deployed; `AWS_IAM` URLs are signed
with your credentials by botocore):

```sh
sam build && sam deploy --guided --parameter-overrides DeployBufferedTwins=true
python -m streamlab compare --stack <stack name> --runs 20 --output docs/comparison-aws.md
```

Or against any server with the emulator's layout (`BASE/<LogicalId>/`), for example one
you started with `python -m streamlab serve --no-auth --parameter-overrides
DeployBufferedTwins=true`:

```sh
python -m streamlab compare --base-url http://127.0.0.1:3000
```

In AWS, expect the network's round trip on top of every figure, and the first call after a
deploy to pay a cold start (the warm-up call absorbs it).
"""

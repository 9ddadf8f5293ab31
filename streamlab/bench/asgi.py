"""``streamlab bench asgi``: one FastAPI app through lambda_streaming.asgi and through Mangum.

Both adapters run the same app (``handlers/asgi_bench.py``), as ``bench.adapters`` runs them:
ours as a streaming handler under stream-bootstrap (and the same handler in BUFFERED mode, for
the adapter's cost without the stream's); Mangum as the ordinary buffered handler it is, once
at its fastest (lifespan off) under the same runtime, so only the adapter differs, and once as
its users deploy it (``Mangum(app)`` under AWS's stock client awslambdaric).
"""

from __future__ import annotations

import sys

from streamlab.bench import adapters as common
from streamlab.bench import clients as runtime_clients
from streamlab.bench.clients import RuntimeClient, Workload

OURS, OURS_BUFFERED = "ours", "ours-buffered"
MANGUM, MANGUM_STOCK = "mangum", "mangum-awslambdaric"
# ours on our runtime against Mangum as its README deploys it (on awslambdaric), JSON invocations
# per second; against Mangum on our own runtime the figure shows the adapters alone (no target)
TARGET = 1.2


def adapters(python: str = sys.executable, *, stock: bool = True) -> list[RuntimeClient]:
    """Ours (streamed, and buffered), Mangum on the same runtime, Mangum as users deploy it."""
    bootstrap = (str(runtime_clients.STREAM_BOOTSTRAP), python)
    chosen = [
        RuntimeClient(
            key=OURS,
            label="lambda_streaming.asgi (streamed)",
            argv=bootstrap,
            handlers={Workload.NOOP_STREAMED: "asgi_ours.handler"},
            env={"STREAM_INVOKE_MODE": "RESPONSE_STREAM"},
        ),
        RuntimeClient(  # the same handler answering buffered: the adapters' costs side by side
            key=OURS_BUFFERED,
            label="lambda_streaming.asgi (STREAM_INVOKE_MODE=BUFFERED)",
            argv=bootstrap,
            handlers={Workload.NOOP_BUFFERED: "asgi_ours.handler"},
            env={"STREAM_INVOKE_MODE": "BUFFERED"},
        ),
        RuntimeClient(
            key=MANGUM,
            label=f"Mangum {common.package_version('mangum')} lifespan=off (buffered, our runtime)",
            argv=bootstrap,
            handlers={Workload.NOOP_BUFFERED: "asgi_mangum.handler"},
        ),
    ]
    if stock:
        version = common.package_version("awslambdaric")
        chosen.append(
            RuntimeClient(
                key=MANGUM_STOCK,
                label=f"Mangum(app) defaults (buffered, awslambdaric {version})",
                argv=(python, "-m", "awslambdaric", "{handler}"),
                handlers={Workload.NOOP_BUFFERED: "asgi_mangum.default"},
                env={"PYTHONPATH": str(runtime_clients.HANDLERS_DIR)},
            )
        )
    return chosen


def render(result: common.AdapterBenchResult) -> str:
    return common.render(result, OURS, (MANGUM, MANGUM_STOCK), {MANGUM_STOCK: TARGET})

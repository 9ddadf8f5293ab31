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
from streamlab.bench.adapters import OURS
from streamlab.bench.clients import RuntimeClient

MANGUM, MANGUM_STOCK = "mangum", "mangum-awslambdaric"
# ours on our runtime against Mangum as its README deploys it (on awslambdaric), JSON invocations
# per second; against Mangum on our own runtime the figure shows the adapters alone (no target)
TARGET = 1.2


def adapters(python: str = sys.executable, *, stock: bool = True) -> list[RuntimeClient]:
    """Ours (streamed, and buffered), Mangum on the same runtime, Mangum as users deploy it."""
    mangum = f"Mangum {common.package_version('mangum')}"
    chosen = [
        *common.ours("asgi", "asgi_ours.handler", python),
        common.on_our_runtime(MANGUM, f"{mangum} lifespan=off", "asgi_mangum.handler", python),
    ]
    if stock:
        label = f"{mangum}: Mangum(app) defaults"
        chosen.append(common.on_stock_client(MANGUM_STOCK, label, "asgi_mangum.default", python))
    return chosen


def render(result: common.AdapterBenchResult) -> str:
    return common.render(result, OURS, (MANGUM, MANGUM_STOCK), {MANGUM_STOCK: TARGET})

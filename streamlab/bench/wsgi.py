"""``streamlab bench wsgi``: one Flask app through lambda_streaming.wsgi, apig-wsgi and
serverless-wsgi.

The adapters run the same app (``handlers/wsgi_bench.py``), as ``bench.adapters`` runs them:
ours as a streaming handler under stream-bootstrap (and the same handler in BUFFERED mode, for
the adapter's cost without the stream's); apig-wsgi once under the same runtime, so only the
adapter differs, and once as its users deploy it, under AWS's stock client awslambdaric; and
serverless-wsgi under awslambdaric too, when it is installed.
"""

from __future__ import annotations

import importlib.util
import sys

from streamlab.bench import adapters as common
from streamlab.bench import clients as runtime_clients
from streamlab.bench.clients import RuntimeClient, Workload

OURS, OURS_BUFFERED = "ours", "ours-buffered"
APIG, APIG_STOCK = "apig-wsgi", "apig-wsgi-awslambdaric"
SERVERLESS_STOCK = "serverless-wsgi-awslambdaric"
TARGET = 1.3  # ours on our runtime against apig-wsgi on awslambdaric, JSON invocations/s


def adapters(python: str = sys.executable, *, stock: bool = True) -> list[RuntimeClient]:
    """Ours (streamed, and buffered), apig-wsgi on our runtime, apig-wsgi and serverless-wsgi
    as users deploy them (under awslambdaric)."""
    bootstrap = (str(runtime_clients.STREAM_BOOTSTRAP), python)
    apig = f"apig-wsgi {common.package_version('apig-wsgi')}"
    chosen = [
        RuntimeClient(
            key=OURS,
            label="lambda_streaming.wsgi (streamed)",
            argv=bootstrap,
            handlers={Workload.NOOP_STREAMED: "wsgi_ours.handler"},
            env={"STREAM_INVOKE_MODE": "RESPONSE_STREAM"},
        ),
        RuntimeClient(  # the same handler answering buffered: the adapters' costs side by side
            key=OURS_BUFFERED,
            label="lambda_streaming.wsgi (STREAM_INVOKE_MODE=BUFFERED)",
            argv=bootstrap,
            handlers={Workload.NOOP_BUFFERED: "wsgi_ours.handler"},
            env={"STREAM_INVOKE_MODE": "BUFFERED"},
        ),
        RuntimeClient(
            key=APIG,
            label=f"{apig} (buffered, our runtime)",
            argv=bootstrap,
            handlers={Workload.NOOP_BUFFERED: "wsgi_apig.handler"},
        ),
    ]
    if stock:
        ric = f"awslambdaric {common.package_version('awslambdaric')}"
        stock_client = (python, "-m", "awslambdaric", "{handler}")
        on_path = {"PYTHONPATH": str(runtime_clients.HANDLERS_DIR)}
        chosen.append(
            RuntimeClient(
                key=APIG_STOCK,
                label=f"{apig} (buffered, {ric})",
                argv=stock_client,
                handlers={Workload.NOOP_BUFFERED: "wsgi_apig.handler"},
                env=on_path,
            )
        )
        if serverless_wsgi_installed():
            version = common.package_version("serverless-wsgi")
            chosen.append(
                RuntimeClient(
                    key=SERVERLESS_STOCK,
                    label=f"serverless-wsgi {version} (buffered, {ric})",
                    argv=stock_client,
                    handlers={Workload.NOOP_BUFFERED: "wsgi_serverless.handler"},
                    env=on_path,
                )
            )
    return chosen


def serverless_wsgi_installed() -> bool:
    return importlib.util.find_spec("serverless_wsgi") is not None


def render(result: common.AdapterBenchResult) -> str:
    peers = [key for key in (APIG, APIG_STOCK, SERVERLESS_STOCK) if key in _keys(result)]
    return common.render(result, OURS, peers, {APIG_STOCK: TARGET})


def _keys(result: common.AdapterBenchResult) -> set[str]:
    return {client.key for client in result.clients}

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
from streamlab.bench.adapters import OURS
from streamlab.bench.clients import RuntimeClient

APIG, APIG_STOCK = "apig-wsgi", "apig-wsgi-awslambdaric"
SERVERLESS_STOCK = "serverless-wsgi-awslambdaric"
TARGET = 1.3  # ours on our runtime against apig-wsgi on awslambdaric, JSON invocations/s


def adapters(python: str = sys.executable, *, stock: bool = True) -> list[RuntimeClient]:
    """Ours (streamed, and buffered), apig-wsgi on our runtime, apig-wsgi and serverless-wsgi
    as users deploy them (under awslambdaric)."""
    apig = f"apig-wsgi {common.package_version('apig-wsgi')}"
    chosen = [
        *common.ours("wsgi", "wsgi_ours.handler", python),
        common.on_our_runtime(APIG, apig, "wsgi_apig.handler", python),
    ]
    if stock:
        chosen.append(common.on_stock_client(APIG_STOCK, apig, "wsgi_apig.handler", python))
        if serverless_wsgi_installed():
            label = f"serverless-wsgi {common.package_version('serverless-wsgi')}"
            handler = "wsgi_serverless.handler"
            chosen.append(common.on_stock_client(SERVERLESS_STOCK, label, handler, python))
    return chosen


def serverless_wsgi_installed() -> bool:
    return importlib.util.find_spec("serverless_wsgi") is not None


def render(result: common.AdapterBenchResult) -> str:
    peers = [key for key in (APIG, APIG_STOCK, SERVERLESS_STOCK) if key in _keys(result)]
    return common.render(result, OURS, peers, {APIG_STOCK: TARGET})


def _keys(result: common.AdapterBenchResult) -> set[str]:
    return {client.key for client in result.clients}

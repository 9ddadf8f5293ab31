"""The page at ``/``: the three streaming functions side by side, in a real browser.

One static HTML file (no build step, no external assets). The server fills in which local
paths serve which format, taken from the template's logical ids, so the page follows
whatever port and template the emulator was started with: each function's Function URL and,
when a REST API stage streams it (a GET route with ``ResponseTransferMode: RESPONSE_STREAM``),
that route too; the page's "Front" choice picks which one is called.
"""

from __future__ import annotations

import json
from importlib import resources

from aiohttp import web

from streamlab.emulator.invocation import Engine
from streamlab.emulator.rest_spec import RestApi

# The template's streaming functions, by wire format (buffered twins are not shown: the
# page is about watching tokens arrive).
PAGE_FUNCTIONS = {"raw": "RawTextFunction", "sse": "SseFunction", "ndjson": "JsonlFunction"}
_PLACEHOLDER = "/*__STREAMLAB_FUNCTIONS__*/{}"


def setup_routes(app: web.Application, engine: Engine) -> None:
    """Mounted by ``streamlab serve`` through the server's route hook."""
    from streamlab.emulator.server import REST_APIS_KEY

    html = render_page(engine, app.get(REST_APIS_KEY, ()))

    async def index(_request: web.Request) -> web.Response:
        return web.Response(
            text=html,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    app.router.add_get("/", index)


def render_page(engine: Engine, rest_apis: tuple[RestApi, ...] = ()) -> str:
    functions: dict[str, dict[str, str | None]] = {}
    for fmt, name in PAGE_FUNCTIONS.items():
        spec = engine.functions.get(name)
        url = spec.url if spec is not None else None
        functions[fmt] = {
            "name": name,
            "path": f"/{name}/" if url is not None else None,
            "invokeMode": url.invoke_mode if url is not None else None,
            "authType": url.auth_type if url is not None else None,
            "restPath": rest_path(name, rest_apis),
        }
    # "</" escaped so no value can close the <script> element it is embedded in.
    config = json.dumps(functions).replace("</", "<\\/")
    template = resources.files("streamlab.emulator").joinpath("static/index.html").read_text()
    return template.replace(_PLACEHOLDER, config)


def rest_path(function_name: str, rest_apis: tuple[RestApi, ...]) -> str | None:
    """The first literal GET route that streams ``function_name``, as a local path."""
    for api in rest_apis:
        for route in api.routes:
            if (
                route.function_name == function_name
                and route.method in ("GET", "ANY")
                and route.transfer_mode == "RESPONSE_STREAM"
                and "{" not in route.path
            ):
                return api.prefix + route.path
    return None

"""The emulator's one HTTP server: every Function URL under ``/<LogicalId>``, plus the Lambda API.

``/`` itself is left to pages that other parts of streamlab mount through ``route_setups``
(callables that receive the application and the engine before the server starts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from streamlab.emulator.auth import SigV4Verifier
from streamlab.emulator.function_url import BAD_GATEWAY_BODY, FunctionUrl
from streamlab.emulator.invocation import Engine
from streamlab.emulator.lambda_api import LambdaApi
from streamlab.emulator.limits import LAMBDA_LIMITS, MAX_REQUEST_PAYLOAD, Limits
from streamlab.emulator.rest_api import RestApiStage
from streamlab.emulator.rest_spec import RestApi

log = logging.getLogger("streamlab.emulator")

RouteSetup = Callable[[web.Application, Engine], None]
ENGINE_KEY = web.AppKey("engine", object)
# The REST API stages served, for pages that offer them (set before route_setups run).
REST_APIS_KEY = web.AppKey("rest_apis", tuple)

# Requests are read whole (Lambda events are bounded); leave room to answer 413 ourselves.
_CLIENT_MAX_SIZE = 2 * MAX_REQUEST_PAYLOAD


@dataclass(frozen=True)
class UrlListing:
    """One line of the start-up banner."""

    function_name: str
    url: str
    invoke_mode: str
    auth_type: str


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def never_500(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The backstop behind every front: a fault of the emulator's while relaying a request is
    logged and answered 502 (the body AWS's fronts send), never aiohttp's 500; when the
    response had already started, the connection is cut instead of sending a second one."""
    try:
        return await handler(request)
    except (web.HTTPException, asyncio.CancelledError, ConnectionError):
        raise
    except Exception:
        log.exception("%s %s: 502 Bad Gateway: the emulator failed", request.method, request.path)
        if request.writer is not None and request.writer.output_size > 0:
            if request.transport is not None:
                request.transport.close()
            raise
        return web.Response(status=502, body=BAD_GATEWAY_BODY)


def create_app(
    engine: Engine,
    *,
    verifier: SigV4Verifier | None,
    route_setups: Iterable[RouteSetup] = (),
    rest_apis: Iterable[RestApi] = (),
    limits: Limits = LAMBDA_LIMITS,
) -> web.Application:
    """All routes; ``verifier=None`` turns SigV4 checking off (``--no-auth``)."""
    rest_apis = tuple(rest_apis)
    app = web.Application(client_max_size=_CLIENT_MAX_SIZE, middlewares=[never_500])
    app[ENGINE_KEY] = engine
    app[REST_APIS_KEY] = rest_apis
    LambdaApi(engine, verifier, limits).add_routes(app)
    for spec in engine.functions.values():
        if spec.url is None:
            continue
        front = FunctionUrl(engine, spec, verifier, limits)
        app.router.add_route("*", front.prefix, front.handle)
        app.router.add_route("*", front.prefix + "/{tail:.*}", front.handle)
    rest_verifier = verifier.for_service("execute-api") if verifier is not None else None
    for api in rest_apis:
        RestApiStage(engine, api, rest_verifier, limits=limits).add_routes(app)
    for setup in route_setups:
        setup(app, engine)
    return app


class EmulatorServer:
    """Binds the application to a host and port (0 picks a free one) and stops it cleanly."""

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        auth: bool = True,
        verifier: SigV4Verifier | None = None,
        route_setups: Iterable[RouteSetup] = (),
        rest_apis: Iterable[RestApi] = (),
        limits: Limits = LAMBDA_LIMITS,
    ) -> None:
        self.engine = engine
        self.limits = limits
        self.rest_apis = tuple(rest_apis)
        self.host = host
        self.port = port
        active_verifier = (verifier or SigV4Verifier()) if auth else None
        self.verifier = active_verifier
        self.app = create_app(
            engine,
            verifier=active_verifier,
            route_setups=route_setups,
            rest_apis=self.rest_apis,
            limits=limits,
        )
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        # No access log: the engine logs every invocation (START/END/REPORT) already.
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def listings(self) -> list[UrlListing]:
        return [
            UrlListing(
                function_name=spec.name,
                url=f"{self.base_url}/{spec.name}/",
                invoke_mode=spec.url.invoke_mode,
                auth_type=spec.url.auth_type,
            )
            for spec in self.engine.functions.values()
            if spec.url is not None
        ] + [
            UrlListing(
                function_name=api.logical_id,
                url=f"{self.base_url}{api.prefix}/",
                invoke_mode="REST_API",
                auth_type=RestApiStage(self.engine, api, None).auth_type,
            )
            for api in self.rest_apis
        ]

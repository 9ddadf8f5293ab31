"""One stage of an API Gateway REST API: HTTP request in, payload-1.0 proxy event out.

Mounted at ``/<ApiLogicalId>/<StageName>``. The route is picked as API Gateway picks resource
and method (``rest_spec``); a request no route takes gets API Gateway's 403 ``Missing
Authentication Token``. ``AWS_IAM`` methods need a SigV4 signature for ``execute-api``.

A route whose ``Api`` event has ``ResponseTransferMode: RESPONSE_STREAM`` streams: the gateway
reads the JSON prelude and 8 NULs, then forwards every chunk as it comes (shared relay with the
Function URL front: a failure mid-stream cuts the transfer). A buffered route applies proxy
result semantics: the result must be an object of ``statusCode``, ``headers``,
``multiValueHeaders``, ``body`` (a string) and ``isBase64Encoded``, else 502
``{"message": "Internal server error"}``.

Limits applied locally (developer guide, response-transfer-mode and limits pages): a streamed
response is cut after 5 minutes without data (Regional idle timeout) or after 15 minutes; a
buffered integration answers 504 after 29 seconds. As in AWS, the function runs on after
the gateway gave up.

CORS: SAM's ``Cors`` on the API adds an OPTIONS method to every resource that answers
preflight requests with the configured values; actual responses carry only what the
function sends (a proxy integration adds no CORS headers).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import json
import logging
import uuid
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from streamlab.emulator import cors as cors_rules
from streamlab.emulator.auth import SignatureError, SigV4Verifier
from streamlab.emulator.function_url import http_request, signed_request
from streamlab.emulator.invocation import Engine, InvocationEvent, TooManyRequests
from streamlab.emulator.limits import LAMBDA_LIMITS, Limits
from streamlab.emulator.payload import IamCaller, RequestIds, new_trace_id
from streamlab.emulator.prelude import HttpHead, ResultError, rest_head_from_result, rest_prelude
from streamlab.emulator.rest_payload import RestTarget, build_rest_event
from streamlab.emulator.rest_spec import RestApi
from streamlab.emulator.results import collect, start_invocation
from streamlab.emulator.stream_relay import RelayRules, relay

log = logging.getLogger("streamlab.emulator")

STREAM_IDLE_TIMEOUT_S = 300.0  # Regional and private endpoints (edge-optimized: 30 s)
STREAM_TOTAL_TIMEOUT_S = 900.0
BUFFERED_TIMEOUT_S = 29.0  # the default integration timeout

INTERNAL_ERROR = {"message": "Internal server error"}
MISSING_TOKEN = {"message": "Missing Authentication Token"}
TIMED_OUT = {"message": "Endpoint request timed out"}
TOO_MANY = {"message": "Too Many Requests"}
TOO_LONG = {"message": "Request Too Long"}
_RESULT_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


class RestApiStage:
    """The handler for every request under one stage's prefix."""

    def __init__(
        self,
        engine: Engine,
        api: RestApi,
        verifier: SigV4Verifier | None,
        *,
        stream_idle_timeout_s: float = STREAM_IDLE_TIMEOUT_S,
        stream_total_timeout_s: float = STREAM_TOTAL_TIMEOUT_S,
        buffered_timeout_s: float = BUFFERED_TIMEOUT_S,
        limits: Limits = LAMBDA_LIMITS,
    ) -> None:
        self.engine = engine
        self.api = api
        self.verifier = verifier
        self.stream_idle_timeout_s = stream_idle_timeout_s
        self.stream_total_timeout_s = stream_total_timeout_s
        self.buffered_timeout_s = buffered_timeout_s
        self.limits = limits

    @property
    def prefix(self) -> str:
        return self.api.prefix

    @property
    def auth_type(self) -> str:
        kinds = sorted({route.authorization for route in self.api.routes})
        return "|".join(kinds) if kinds else "NONE"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", self.prefix, self.handle)
        app.router.add_route("*", self.prefix + "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ids = RequestIds(request_id=str(uuid.uuid4()), trace_id=new_trace_id())
        request_headers = {name.lower(): value for name, value in request.headers.items()}
        raw_path = request.raw_path.partition("?")[0][len(self.prefix) :] or "/"
        segments = tuple(part for part in raw_path.split("/") if part)

        if (
            self.api.cors is not None
            and cors_rules.is_preflight(request.method, request_headers)
            and not any(r.method == "OPTIONS" for r, _ in self.api.resources(segments))
        ):
            return await self._preflight(request, segments, ids)

        found = self.api.find(request.method, segments)
        if found is None:
            return error_response(403, MISSING_TOKEN, ids, "MissingAuthenticationTokenException")
        route, params = found
        body = await request.read()
        caller: IamCaller | None = None
        if route.authorization == "AWS_IAM" and self.verifier is not None:
            try:
                verified = self.verifier.verify(signed_request(request, body))
            except SignatureError as exc:
                log.warning("%s: rejected unsigned or badly signed request: %s", self.prefix, exc)
                return error_response(403, {"message": str(exc)}, ids, exc.code)
            caller = IamCaller(access_key=verified.access_key)

        target = RestTarget(api=self.api, route=route, path_parameters=params, path=raw_path)
        event = build_rest_event(
            http_request(request, raw_path, body),
            target,
            ids=ids,
            caller=caller,
            local_port=_local_port(request),
        )
        payload = json.dumps(event, separators=(",", ":")).encode()
        if len(payload) > self.limits.request_payload:
            return error_response(413, TOO_LONG, ids)
        label = f"{route.function_name} ({self.prefix})"
        streaming = route.transfer_mode == "RESPONSE_STREAM"
        # The wait for the function's first bytes counts against the same limits as the rest.
        loop = asyncio.get_running_loop()
        started = loop.time()
        first_wait = (
            min(self.stream_idle_timeout_s, self.stream_total_timeout_s)
            if streaming
            else self.buffered_timeout_s
        )
        try:
            events = await asyncio.wait_for(
                start_invocation(
                    self.engine, route.function_name, payload, request_id=ids.request_id
                ),
                first_wait,
            )
        except TooManyRequests:
            log.warning("%s: throttled (every execution environment is busy)", route.function_name)
            return error_response(429, TOO_MANY, ids, "ThrottlingException")
        except TimeoutError:
            log.error("%s %s: 504: nothing within %.0f s", label, ids.request_id, first_wait)
            return error_response(504, TIMED_OUT, ids, "IntegrationTimeout")
        elapsed = loop.time() - started
        try:
            if streaming:
                return await self._stream(request, events, ids, label, elapsed)
            return await self._buffered(request_headers, events, ids, label, elapsed)
        finally:
            await events.aclose()

    async def _preflight(
        self, request: web.Request, segments: tuple[str, ...], ids: RequestIds
    ) -> web.StreamResponse:
        """SAM's OPTIONS mock integration: the configured values, whatever the Origin."""
        if not self.api.resources(segments):
            return error_response(403, MISSING_TOKEN, ids, "MissingAuthenticationTokenException")
        if self.api.cors_preflight_authorized and self.verifier is not None:
            try:
                self.verifier.verify(signed_request(request, await request.read()))
            except SignatureError as exc:
                return error_response(403, {"message": str(exc)}, ids, exc.code)
        cors = self.api.cors
        assert cors is not None
        response = web.Response(status=200, body=b"")
        response.headers["Content-Type"] = "application/json"
        if cors.allow_origins:
            response.headers["Access-Control-Allow-Origin"] = ",".join(cors.allow_origins)
        if cors.allow_methods:
            response.headers["Access-Control-Allow-Methods"] = ",".join(cors.allow_methods)
        if cors.allow_headers:
            response.headers["Access-Control-Allow-Headers"] = ",".join(cors.allow_headers)
        if cors.allow_credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
        if cors.max_age is not None:
            response.headers["Access-Control-Max-Age"] = str(cors.max_age)
        _stamp(response, ids)
        return response

    def _bad_gateway(self, ids: RequestIds, label: str, why: str) -> web.Response:
        log.error("%s %s: 502 Internal server error: %s", label, ids.request_id, why)
        return error_response(502, INTERNAL_ERROR, ids, "InternalServerErrorException")

    async def _stream(
        self,
        request: web.Request,
        events: AsyncIterator[InvocationEvent],
        ids: RequestIds,
        label: str,
        elapsed: float = 0.0,
    ) -> web.StreamResponse:
        async def open_stream(head: HttpHead) -> web.StreamResponse:
            response = web.StreamResponse(status=head.status)
            for name, value in head.headers:
                response.headers.add(name, value)
            _stamp(response, ids)
            response.enable_chunked_encoding()
            await response.prepare(request)
            return response

        rules = RelayRules(
            label=label,
            request_id=ids.request_id,
            open_stream=open_stream,
            bad_gateway=lambda why: self._bad_gateway(ids, label, why),
            parse_prelude=rest_prelude,
            prelude_always=True,
            idle_timeout_s=self.stream_idle_timeout_s,
            total_timeout_s=max(0.001, self.stream_total_timeout_s - elapsed),
            bandwidth=self.limits.rest_stream,
        )
        return await relay(request, events, rules)

    async def _buffered(
        self,
        request_headers: Mapping[str, str],
        events: AsyncIterator[InvocationEvent],
        ids: RequestIds,
        label: str,
        elapsed: float = 0.0,
    ) -> web.Response:
        try:
            remaining = max(0.001, self.buffered_timeout_s - elapsed)
            result = await asyncio.wait_for(
                collect(events, self.limits.buffered_response), remaining
            )
        except TimeoutError:
            log.error("%s %s: 504 after %.0f s", label, ids.request_id, self.buffered_timeout_s)
            return error_response(504, TIMED_OUT, ids, "IntegrationTimeout")
        if result.error is not None:
            why = f"{result.error.error_type}: {result.error.error_message}"
            return self._bad_gateway(ids, label, why)
        try:
            head, body = map_proxy_result(result.body, self._wants_binary(request_headers))
        except ResultError as exc:
            return self._bad_gateway(ids, label, f"Malformed Lambda proxy response: {exc}")
        response = web.Response(status=head.status, body=body)
        for name, value in head.headers:
            response.headers.add(name, value)
        _stamp(response, ids)
        return response

    def _wants_binary(self, request_headers: Mapping[str, str]) -> bool:
        """API Gateway decodes a base64 result when the Accept type is a binary media type."""
        accept = request_headers.get("accept", "").split(",", 1)[0].split(";", 1)[0].strip()
        return bool(accept) and any(
            fnmatch.fnmatchcase(accept.lower(), pattern.lower())
            for pattern in self.api.binary_media_types
        )


def map_proxy_result(payload: bytes, decode_base64: bool) -> tuple[HttpHead, bytes]:
    """A buffered REST proxy result as API Gateway returns it, or ResultError (a 502)."""
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise ResultError("the result is not JSON") from None
    if not isinstance(document, dict):
        raise ResultError("the result is not a JSON object")
    extra = set(document) - _RESULT_KEYS
    if extra:
        raise ResultError(f"unexpected fields {sorted(extra)}")
    if "statusCode" not in document:
        raise ResultError("statusCode is missing")
    body = document.get("body")
    if body is not None and not isinstance(body, str):
        raise ResultError("body must be a string")
    head = rest_head_from_result(document)
    if not any(name.lower() == "content-type" for name, _ in head.headers):
        head = HttpHead(head.status, (("Content-Type", "application/json"), *head.headers))
    if body is None:
        return head, b""
    if document.get("isBase64Encoded") and decode_base64:
        try:
            return head, base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ResultError("isBase64Encoded is true but body is not base64") from None
    return head, body.encode("utf-8")


def error_response(
    status: int, document: Mapping[str, str], ids: RequestIds, error_type: str | None = None
) -> web.Response:
    """An answer of API Gateway's own (not the function's), as it shapes them."""
    response = web.Response(status=status, body=json.dumps(document).encode())
    response.headers["Content-Type"] = "application/json"
    if error_type:
        response.headers["x-amzn-ErrorType"] = error_type
    _stamp(response, ids)
    return response


def _stamp(response: web.StreamResponse, ids: RequestIds) -> None:
    response.headers["x-amzn-RequestId"] = ids.request_id
    response.headers["x-amz-apigw-id"] = base64.b64encode(
        uuid.UUID(ids.request_id).bytes[:12]
    ).decode()[:16]
    response.headers["X-Amzn-Trace-Id"] = ids.trace_id


def _local_port(request: web.Request) -> int | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return sockname[1] if sockname else None

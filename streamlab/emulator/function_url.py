"""A function's local Function URL: HTTP request in, invocation events out as HTTP.

RESPONSE_STREAM URLs forward every chunk the moment the runtime sends it (chunked
transfer encoding, one write per chunk, no buffering). Once bytes have gone out the
status is spent, so a failure mid-stream can only cut the body: the connection is closed
without the terminating zero-length chunk, which every HTTP client reports as a truncated
transfer (curl: "transfer closed with outstanding read data remaining"; requests:
``ChunkedEncodingError``). BUFFERED URLs map the whole result as AWS maps a Function URL
result object.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from streamlab.emulator import cors as cors_rules
from streamlab.emulator.auth import SignatureError, SignedRequest, SigV4Verifier
from streamlab.emulator.invocation import (
    Engine,
    FunctionSpec,
    InvocationEvent,
    TooManyRequests,
)
from streamlab.emulator.limits import LAMBDA_LIMITS, Limits
from streamlab.emulator.payload import HttpRequest, IamCaller, RequestIds, build_event, new_trace_id
from streamlab.emulator.prelude import (  # noqa: F401  (re-exported: tests and lambda_api)
    INTEGRATION_CONTENT_TYPE,
    MAX_PRELUDE,
    PRELUDE_DELIMITER,
    HttpHead,
    PreludeReader,
    ResultError,
    head_from_result,
    parse_prelude,
)
from streamlab.emulator.results import collect, start_invocation
from streamlab.emulator.stream_relay import RelayRules, relay

log = logging.getLogger("streamlab.emulator")

# What AWS answers in each failure case (bodies as Function URLs send them).
FORBIDDEN_BODY = b'{"Message":"Forbidden"}'
BAD_GATEWAY_BODY = b"Internal Server Error"
THROTTLED_BODY = b'{"Message":"Rate Exceeded."}'
TOO_LARGE_BODY = (
    b'{"Message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}'
)


def map_buffered_result(payload: bytes) -> tuple[HttpHead, bytes]:
    """A buffered result as a Function URL returns it (docs: "Response payload format").

    An object with ``statusCode`` is a response description; anything else that is JSON is
    the body itself, served as application/json with status 200.
    """
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise ResultError("function result is not JSON") from None
    if not (isinstance(document, dict) and "statusCode" in document):
        return HttpHead(200, (("Content-Type", "application/json"),)), payload
    head = head_from_result(document)
    if not any(name.lower() == "content-type" for name, _ in head.headers):
        head = HttpHead(head.status, (("Content-Type", "application/json"), *head.headers))
    body = document.get("body")
    if body is None:
        return head, b""
    if not isinstance(body, str):
        return head, json.dumps(body).encode()
    if document.get("isBase64Encoded"):
        try:
            return head, base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ResultError("isBase64Encoded is true but body is not base64") from None
    return head, body.encode("utf-8")


def plain_response(
    status: int, body: bytes, ids: RequestIds, content_type: str = "application/json"
) -> web.Response:
    response = web.Response(status=status, body=body)
    response.headers["Content-Type"] = content_type
    _stamp(response, ids)
    return response


def _stamp(response: web.StreamResponse, ids: RequestIds) -> None:
    response.headers["x-amzn-RequestId"] = ids.request_id
    response.headers["X-Amzn-Trace-Id"] = ids.trace_id


def http_request(request: web.Request, raw_path: str, body: bytes) -> HttpRequest:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return HttpRequest(
        method=request.method,
        raw_path=raw_path,
        raw_query=request.raw_path.partition("?")[2],
        headers=header_pairs(request),
        body=body,
        source_ip=peer[0] if peer else "127.0.0.1",
        protocol=f"HTTP/{request.version.major}.{request.version.minor}",
    )


def header_pairs(request: web.Request) -> tuple[tuple[str, str], ...]:
    """The request's headers as they arrived: original case, order and repeats."""
    return tuple(
        (name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))
        for name, value in request.raw_headers
    )


def signed_request(request: web.Request, body: bytes) -> SignedRequest:
    return SignedRequest(
        method=request.method,
        url=f"{request.scheme}://{request.host}{request.raw_path}",
        headers=header_pairs(request),
        body=body,
    )


class FunctionUrl:
    """One function's local Function URL, mounted at ``/<LogicalId>``."""

    def __init__(
        self,
        engine: Engine,
        spec: FunctionSpec,
        verifier: SigV4Verifier | None,
        limits: Limits = LAMBDA_LIMITS,
    ) -> None:
        if spec.url is None:
            raise ValueError(f"{spec.name} has no FunctionUrlConfig")
        self.engine = engine
        self.spec = spec
        self.url = spec.url
        self.verifier = verifier if spec.url.auth_type == "AWS_IAM" else None
        self.limits = limits

    @property
    def prefix(self) -> str:
        return f"/{self.spec.name}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ids = RequestIds(request_id=str(uuid.uuid4()), trace_id=new_trace_id())
        request_headers = {name.lower(): value for name, value in request.headers.items()}
        if self.url.cors is not None and cors_rules.is_preflight(request.method, request_headers):
            response = web.Response(status=200)
            response.headers.update(cors_rules.preflight_headers(self.url.cors, request_headers))
            _stamp(response, ids)
            return response

        body = await request.read()
        caller: IamCaller | None = None
        if self.verifier is not None:
            try:
                verified = self.verifier.verify(signed_request(request, body))
            except SignatureError as exc:
                log.warning(
                    "%s: rejected unsigned or badly signed request: %s", self.spec.name, exc
                )
                return self._finish(plain_response(403, FORBIDDEN_BODY, ids), request_headers)
            caller = IamCaller(access_key=verified.access_key)

        raw_path = request.raw_path.partition("?")[0][len(self.prefix) :] or "/"
        event = build_event(
            http_request(request, raw_path, body),
            function_name=self.spec.name,
            ids=ids,
            caller=caller,
            local_port=_local_port(request),
        )
        payload = json.dumps(event, separators=(",", ":")).encode()
        if len(payload) > self.limits.request_payload:
            return self._finish(plain_response(413, TOO_LARGE_BODY, ids), request_headers)
        try:
            events = await start_invocation(
                self.engine, self.spec.name, payload, request_id=ids.request_id
            )
        except TooManyRequests:
            log.warning("%s: throttled (every execution environment is busy)", self.spec.name)
            return self._finish(plain_response(429, THROTTLED_BODY, ids), request_headers)
        try:
            if self.url.invoke_mode == "RESPONSE_STREAM":
                return await self._stream(request, request_headers, events, ids)
            return await self._buffered(request_headers, events, ids)
        finally:
            await events.aclose()

    def _finish(self, response: web.Response, request_headers: Mapping[str, str]) -> web.Response:
        if self.url.cors is not None:
            response.headers.update(cors_rules.response_headers(self.url.cors, request_headers))
        return response

    def _bad_gateway(
        self, ids: RequestIds, request_headers: Mapping[str, str], why: str
    ) -> web.Response:
        log.error("%s %s: 502 Bad Gateway: %s", self.spec.name, ids.request_id, why)
        return self._finish(plain_response(502, BAD_GATEWAY_BODY, ids), request_headers)

    async def _buffered(
        self,
        request_headers: Mapping[str, str],
        events: AsyncIterator[InvocationEvent],
        ids: RequestIds,
    ) -> web.Response:
        result = await collect(events, self.limits.buffered_response)
        if result.error is not None:
            why = f"{result.error.error_type}: {result.error.error_message}"
            return self._bad_gateway(ids, request_headers, why)
        try:
            if result.head is not None and result.head.content_type == INTEGRATION_CONTENT_TYPE:
                # A streaming runtime behind a BUFFERED URL: honour its prelude.
                parsed = PreludeReader().feed(result.body)
                if parsed is None:
                    raise ResultError("stream ended before the prelude delimiter")
                head, body = parsed
            else:
                head, body = map_buffered_result(result.body)
        except ResultError as exc:
            return self._bad_gateway(ids, request_headers, str(exc))
        response = web.Response(status=head.status, body=body)
        headers = cors_rules.apply(self.url.cors, request_headers, list(head.headers))
        for name, value in headers:
            response.headers.add(name, value)
        _stamp(response, ids)
        return response

    async def _stream(
        self,
        request: web.Request,
        request_headers: Mapping[str, str],
        events: AsyncIterator[InvocationEvent],
        ids: RequestIds,
    ) -> web.StreamResponse:
        async def open_stream(head: HttpHead) -> web.StreamResponse:
            return await self._open_stream(request, request_headers, head, ids)

        rules = RelayRules(
            label=self.spec.name,
            request_id=ids.request_id,
            open_stream=open_stream,
            bad_gateway=lambda why: self._bad_gateway(ids, request_headers, why),
            bandwidth=self.limits.url_stream,
        )
        return await relay(request, events, rules)

    async def _open_stream(
        self,
        request: web.Request,
        request_headers: Mapping[str, str],
        head: HttpHead,
        ids: RequestIds,
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=head.status)
        for name, value in cors_rules.apply(self.url.cors, request_headers, list(head.headers)):
            response.headers.add(name, value)
        _stamp(response, ids)
        response.enable_chunked_encoding()
        await response.prepare(request)
        return response


def _local_port(request: web.Request) -> int | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return sockname[1] if sockname else None

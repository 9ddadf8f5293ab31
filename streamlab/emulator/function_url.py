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
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from aiohttp import web

from streamlab.emulator import cors as cors_rules
from streamlab.emulator.auth import SignatureError, SignedRequest, SigV4Verifier
from streamlab.emulator.headers import first_problem
from streamlab.emulator.invocation import (
    BodyChunk,
    Engine,
    FunctionSpec,
    InvocationEnd,
    InvocationEvent,
    ResponseHead,
    TooManyRequests,
)
from streamlab.emulator.payload import HttpRequest, IamCaller, RequestIds, build_event, new_trace_id
from streamlab.emulator.results import MAX_REQUEST_PAYLOAD, collect, start_invocation

log = logging.getLogger("streamlab.emulator")

INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_DELIMITER = b"\x00" * 8
MAX_PRELUDE = 1024 * 1024  # far beyond any real header block; stops an endless search

# Hop-by-hop or framing headers a function cannot set: the URL owns the connection.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})

# What AWS answers in each failure case (bodies as Function URLs send them).
FORBIDDEN_BODY = b'{"Message":"Forbidden"}'
BAD_GATEWAY_BODY = b"Internal Server Error"
THROTTLED_BODY = b'{"Message":"Rate Exceeded."}'
TOO_LARGE_BODY = (
    b'{"Message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}'
)


class ResultError(ValueError):
    """The function's result (or stream prelude) is not something a Function URL can map."""


@dataclass(frozen=True)
class HttpHead:
    status: int
    headers: tuple[tuple[str, str], ...]


def _status(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ResultError(f"statusCode must be an integer, got {value!r}")
    try:
        status = int(value)
    except ValueError:
        raise ResultError(f"statusCode must be an integer, got {value!r}") from None
    if not 100 <= status <= 599:
        raise ResultError(f"statusCode {status} is outside 100..599")
    return status


def head_from_result(document: Mapping[str, object]) -> HttpHead:
    """Status, headers and cookies of a result object or stream prelude."""
    headers: list[tuple[str, str]] = []
    single = document.get("headers") or {}
    multi = document.get("multiValueHeaders") or {}
    cookies = document.get("cookies") or []
    if not isinstance(single, dict) or not isinstance(multi, dict) or not isinstance(cookies, list):
        raise ResultError("headers and multiValueHeaders must be objects, cookies a list")
    for name, value in single.items():
        if name.lower() not in _FRAMING_HEADERS and value is not None:
            headers.append((str(name), _header_text(value)))
    for name, values in multi.items():
        if name.lower() in _FRAMING_HEADERS or name.lower() in {n.lower() for n in single}:
            continue
        for value in values if isinstance(values, list) else [values]:
            headers.append((str(name), _header_text(value)))
    headers.extend(("Set-Cookie", str(cookie)) for cookie in cookies)
    problem = first_problem(headers)
    if problem is not None:
        raise ResultError(problem)  # a 502 naming the header, never a 500
    return HttpHead(status=_status(document.get("statusCode", 200)), headers=tuple(headers))


def _header_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_prelude(raw: bytes) -> HttpHead:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultError(f"stream prelude is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ResultError("stream prelude must be a JSON object")
    return head_from_result(document)


class PreludeReader:
    """Finds the JSON prelude and its 8-NUL delimiter, however the chunks split them.

    JSON text cannot contain a raw NUL byte, so the first 8 NULs end the prelude.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> tuple[HttpHead, bytes] | None:
        """``(head, body bytes after the delimiter)`` once complete, else None."""
        search_from = max(0, len(self._buffer) - len(PRELUDE_DELIMITER) + 1)
        self._buffer += data
        end = self._buffer.find(PRELUDE_DELIMITER, search_from)
        if end < 0:
            if len(self._buffer) > MAX_PRELUDE:
                raise ResultError(f"no prelude delimiter in the first {MAX_PRELUDE} bytes")
            return None
        head = parse_prelude(bytes(self._buffer[:end]))
        return head, bytes(self._buffer[end + len(PRELUDE_DELIMITER) :])


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

    def __init__(self, engine: Engine, spec: FunctionSpec, verifier: SigV4Verifier | None) -> None:
        if spec.url is None:
            raise ValueError(f"{spec.name} has no FunctionUrlConfig")
        self.engine = engine
        self.spec = spec
        self.url = spec.url
        self.verifier = verifier if spec.url.auth_type == "AWS_IAM" else None

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
        if len(payload) > MAX_REQUEST_PAYLOAD:
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
        result = await collect(events)
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
        prelude: PreludeReader | None = None
        response: web.StreamResponse | None = None
        content_type: str | None = None
        sent = 0
        async for event in events:
            if isinstance(event, ResponseHead):
                content_type = event.content_type
                if content_type == INTEGRATION_CONTENT_TYPE:
                    prelude = PreludeReader()
            elif isinstance(event, BodyChunk):
                data = event.data
                if response is None:
                    if prelude is not None:
                        try:
                            parsed = prelude.feed(data)
                        except ResultError as exc:
                            return self._bad_gateway(ids, request_headers, str(exc))
                        if parsed is None:
                            continue
                        head, data = parsed
                    else:
                        head = _plain_stream_head(content_type)
                    response = await self._open_stream(request, request_headers, head, ids)
                if data:
                    try:
                        await response.write(data)
                    except ConnectionError:
                        log.info(
                            "%s %s: client disconnected after %d bytes",
                            self.spec.name,
                            ids.request_id,
                            sent,
                        )
                        return response
                    sent += len(data)
            elif isinstance(event, InvocationEnd):
                if event.error is None:
                    break
                why = f"{event.error.error_type}: {event.error.error_message}"
                if response is None:
                    return self._bad_gateway(ids, request_headers, why)
                log.error(
                    "%s %s: response stream cut after %d body bytes: %s",
                    self.spec.name,
                    ids.request_id,
                    sent,
                    why,
                )
                _cut(request)
                return response
        if response is None:
            if prelude is not None and prelude.pending:
                return self._bad_gateway(ids, request_headers, "stream ended inside the prelude")
            head = HttpHead(200, ()) if prelude is not None else _plain_stream_head(content_type)
            response = await self._open_stream(request, request_headers, head, ids)
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response

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


def _plain_stream_head(content_type: str | None) -> HttpHead:
    return HttpHead(200, (("Content-Type", content_type or "application/octet-stream"),))


def _cut(request: web.Request) -> None:
    """End the body without its terminating chunk: close the connection after what was sent."""
    if request.transport is not None:
        request.transport.close()


def _local_port(request: web.Request) -> int | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return sockname[1] if sockname else None

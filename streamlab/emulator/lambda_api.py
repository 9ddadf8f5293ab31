"""The two Lambda API operations a caller of a function needs: Invoke and InvokeWithResponseStream.

Enough of the real REST API (paths, headers, error shapes) that an unmodified
``boto3.client("lambda", endpoint_url=...)`` works against the emulator, with botocore
parsing the answers, including the event stream of ``InvokeWithResponseStream``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import uuid
from collections.abc import Mapping

from aiohttp import web

from streamlab.emulator.auth import SignatureError, SigV4Verifier
from streamlab.emulator.function_url import signed_request
from streamlab.emulator.invocation import (
    BodyChunk,
    Engine,
    FunctionError,
    InvocationEnd,
    TooManyRequests,
    UnknownFunction,
)
from streamlab.emulator.limits import LAMBDA_LIMITS, MAX_REQUEST_PAYLOAD, Limits, Throttle, paced
from streamlab.emulator.results import StartedInvocation, collect, start_invocation
from streamlab.eventstream import event_message, json_event_message

log = logging.getLogger("streamlab.emulator")

INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"
STREAM_PATH = "/2021-11-15/functions/{name}/response-streaming-invocations"
EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
EXECUTED_VERSION = "$LATEST"
LOCAL_ACCOUNT_ID = "123456789012"


class ApiError(Exception):
    """An error the Lambda API reports as ``x-amzn-ErrorType`` plus a JSON body."""

    def __init__(self, status: int, code: str, body: Mapping[str, object]) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.body = body

    def response(self, request_id: str) -> web.Response:
        response = web.json_response(dict(self.body), status=self.status)
        response.headers["x-amzn-ErrorType"] = self.code
        response.headers["x-amzn-RequestId"] = request_id
        return response


def function_name_from(identifier: str) -> str:
    """The bare name in any form Lambda accepts: name, name:qualifier, partial or full ARN."""
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        return parts[6] if len(parts) > 6 else identifier
    if ":function:" in identifier:
        return identifier.split(":function:", 1)[1].split(":", 1)[0]
    return identifier.split(":", 1)[0]


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def not_found(name: str) -> ApiError:
    arn = f"arn:aws:lambda:{_region()}:{LOCAL_ACCOUNT_ID}:function:{name}"
    return ApiError(
        404, "ResourceNotFoundException", {"Type": "User", "Message": f"Function not found: {arn}"}
    )


def throttled() -> ApiError:
    return ApiError(
        429,
        "TooManyRequestsException",
        {
            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
            "Type": "User",
            "message": "Rate Exceeded.",
        },
    )


def request_too_large() -> ApiError:
    message = (
        f"Request must be smaller than {MAX_REQUEST_PAYLOAD} bytes for the InvokeFunction operation"
    )
    return ApiError(413, "RequestTooLargeException", {"Type": "User", "message": message})


def _client_context(value: str | None) -> str | None:
    """``X-Amz-Client-Context`` as received (base64 JSON, which the engine decodes), if valid."""
    if not value:
        return None
    try:
        json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        raise ApiError(
            400,
            "InvalidRequestContentException",
            {
                "Type": "User",
                "message": "Client context must be a valid Base64-encoded JSON object.",
            },
        ) from None
    return value


class LambdaApi:
    """The Invoke and InvokeWithResponseStream routes, checked with SigV4 unless auth is off."""

    def __init__(
        self, engine: Engine, verifier: SigV4Verifier | None, limits: Limits = LAMBDA_LIMITS
    ) -> None:
        self.engine = engine
        self.verifier = verifier
        self.limits = limits
        self._background: set[asyncio.Task[None]] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(INVOKE_PATH, self.invoke)
        app.router.add_post(STREAM_PATH, self.invoke_with_response_stream)

    async def _prepare(self, request: web.Request) -> tuple[str, bytes]:
        """Authenticate, resolve the function and read the payload, or raise ApiError."""
        payload = await request.read()
        if self.verifier is not None:
            try:
                self.verifier.verify(signed_request(request, payload))
            except SignatureError as exc:
                raise ApiError(403, exc.code, {"message": str(exc)}) from None
        name = function_name_from(request.match_info["name"])
        if name not in self.engine.functions:
            raise not_found(name)
        if len(payload) > self.limits.request_payload:
            raise request_too_large()
        return name, payload or b"{}"

    async def invoke(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        try:
            name, payload = await self._prepare(request)
            invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
            if invocation_type == "DryRun":
                return self._reply(web.Response(status=204), request_id)
            client_context = _client_context(request.headers.get("X-Amz-Client-Context"))
            events = await self._start(name, payload, client_context, request_id)
        except ApiError as exc:
            return exc.response(request_id)
        if invocation_type == "Event":
            task = asyncio.create_task(_drain(events))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return self._reply(web.Response(status=202), request_id)
        try:
            result = await collect(events, self.limits.buffered_response)
        finally:
            await events.aclose()
        if result.error is not None:
            response = web.Response(status=200, body=result.error.payload)
            response.headers["X-Amz-Function-Error"] = "Unhandled"
        else:
            response = web.Response(status=200, body=result.body)
        response.headers["Content-Type"] = "application/json"
        return self._reply(response, request_id)

    async def invoke_with_response_stream(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        try:
            name, payload = await self._prepare(request)
            client_context = _client_context(request.headers.get("X-Amz-Client-Context"))
            events = await self._start(name, payload, client_context, request_id)
        except ApiError as exc:
            return exc.response(request_id)
        response = self._reply(web.StreamResponse(status=200), request_id)
        response.headers["Content-Type"] = EVENTSTREAM_CONTENT_TYPE
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            error: FunctionError | None = None
            bandwidth = self.limits.url_stream
            throttle = Throttle(bandwidth) if bandwidth is not None else None
            async for event in events:
                if isinstance(event, BodyChunk) and event.data:
                    async for piece in paced(event.data, throttle):
                        await response.write(event_message("PayloadChunk", piece))
                elif isinstance(event, InvocationEnd):
                    error = event.error
                    break
            complete: dict[str, object] = {}
            if error is not None:
                log.error(
                    "%s %s: stream ended with %s: %s",
                    name,
                    request_id,
                    error.error_type,
                    error.error_message,
                )
                complete = {"ErrorCode": error.error_type, "ErrorDetails": error.error_message}
            await response.write(json_event_message("InvokeComplete", complete))
            await response.write_eof()
        except ConnectionError:
            log.info("%s %s: client disconnected from the response stream", name, request_id)
        finally:
            await events.aclose()
        return response

    async def _start(
        self, name: str, payload: bytes, client_context: str | None, request_id: str
    ) -> StartedInvocation:
        try:
            return await start_invocation(
                self.engine, name, payload, client_context=client_context, request_id=request_id
            )
        except TooManyRequests:
            log.warning("%s: throttled (every execution environment is busy)", name)
            raise throttled() from None
        except UnknownFunction:
            raise not_found(name) from None

    @staticmethod
    def _reply(response: web.StreamResponse, request_id: str) -> web.StreamResponse:
        response.headers["x-amzn-RequestId"] = request_id
        response.headers["X-Amz-Executed-Version"] = EXECUTED_VERSION
        return response


async def _drain(events: StartedInvocation) -> None:
    """Follow an asynchronous (``Event``) invocation to its end so the engine can log it.

    Its result is discarded, whatever its size (AWS keeps no 6 MB limit for it)."""
    try:
        async for event in events:
            if isinstance(event, InvocationEnd):
                if event.error is not None:
                    log.error(
                        "async invocation failed: %s: %s",
                        event.error.error_type,
                        event.error.error_message,
                    )
                break
    finally:
        await events.aclose()

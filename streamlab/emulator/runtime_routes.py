"""What each request of the 2018-06-01 Runtime API does: one small ``Exchange`` per kind.

``route`` reads a request's head and picks the exchange: ``next`` (long-poll), a result
(buffered, or streamed with ``Lambda-Runtime-Function-Response-Mode: streaming``), an
invocation ``error``, ``init/error``, and SnapStart's ``restore/next`` and ``restore/error``.
Each turns what the runtime sends into its invocation's events (``invocation_queue``) and
answers as AWS's Runtime API does, including its refusals (unknown or ended request ids, a
result echoing another invocation's ``Lambda-Runtime-Invocation-Id``, an unknown response
mode, a buffered result over the size limit).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from typing import Protocol

import h11

from streamlab.emulator.invocation import FunctionError, ResponseHead, function_error
from streamlab.emulator.invocation_queue import Invocation
from streamlab.emulator.runtime_http import Exchange, RuntimeConnection


class RuntimeApiServer(Protocol):
    """What the routes ask of the environment's server (``runtime_api.RuntimeApiServer``)."""

    function_arn: str
    buffered_limit: int | None  # what the runtime may send as one response (None: no limit)
    streamed_limit: int | None

    def active(self, request_id: str) -> Invocation | None: ...
    def poll(self, poller: NextPoll) -> None: ...
    def answered(self, request_id: str) -> None: ...
    def fail_init(self, error: FunctionError) -> None: ...
    def on_truncated(self, invocation: Invocation) -> None: ...


PREFIX = "/2018-06-01/runtime/"
ERROR_TYPE = b"lambda-runtime-function-error-type"
ERROR_BODY = b"lambda-runtime-function-error-body"
RESPONSE_MODE = b"lambda-runtime-function-response-mode"
INVOCATION_ID = b"lambda-runtime-invocation-id"

_ACCEPTED = b'{"status":"OK"}'
_NEXT_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json\r\n"
    b"Lambda-Runtime-Aws-Request-Id: %s\r\n"
    b"Lambda-Runtime-Deadline-Ms: %d\r\n"
    b"Lambda-Runtime-Invoked-Function-Arn: %s\r\n"
    b"Lambda-Runtime-Trace-Id: %s\r\n"
    b"Lambda-Runtime-Invocation-Id: %s\r\n"
    b"%s"
    b"Content-Length: %d\r\n\r\n"
)


def route(
    server: RuntimeApiServer, connection: RuntimeConnection, request: h11.Request
) -> Exchange:
    """The exchange for one request, picked from its method, path and headers."""
    target = request.target.decode("ascii", "replace")
    method = request.method
    headers = {name: value.decode("latin-1").strip() for name, value in request.headers}
    if not target.startswith(PREFIX):
        return Rejected(connection, 404, "InvalidRequest", f"Unknown path {target}")
    path = target[len(PREFIX) :]
    error_type = headers.get(ERROR_TYPE) or None
    if path == "invocation/next" and method == b"GET":
        return NextPoll(server, connection)
    if path in ("init/error", "restore/error") and method == b"POST":
        # A failed restore leaves the environment as unready as a failed init.
        return InitErrorPost(server, connection, error_type)
    if path == "restore/next" and method == b"GET":
        return RestoreNext(connection)
    if path.startswith("invocation/") and method == b"POST":
        _, _, rest = path.partition("/")
        request_id, _, action = rest.partition("/")
        invocation = server.active(request_id)
        echoed = headers.get(INVOCATION_ID)
        if action not in ("response", "error"):
            return Rejected(connection, 404, "InvalidRequest", f"Unknown path {target}")
        if invocation is None or invocation.dispatched_at is None or invocation.ended:
            server.answered(request_id)
            return Rejected(connection, 400, "InvalidRequestID", f"Invalid request ID {request_id}")
        if echoed is not None and echoed != invocation.invocation_id:
            # as AWS's Runtime API (the RIE's Managed Instances code) words it
            message = f"Cross-wiring detected: invocation ID mismatch on {action}"
            return Rejected(connection, 400, "ValidationError", message)
        if action == "error":
            return ErrorPost(server, connection, invocation, error_type)
        mode = headers.get(RESPONSE_MODE)
        content_type = headers.get(b"content-type")
        if mode is None:
            return ResultPost(server, connection, invocation, content_type)
        if mode != "streaming":
            message = f"Invalid function response mode {mode!r}: only 'streaming' is accepted"
            return Rejected(connection, 400, "InvalidFunctionResponseMode", message)
        return StreamPost(server, connection, invocation, content_type)
    method_name = method.decode("ascii", "replace")
    return Rejected(connection, 404, "InvalidRequest", f"Unknown path {method_name} {target}")


def error_from_document(body: bytes, error_type: str | None) -> FunctionError:
    """Reads a runtime's error document; a malformed one is still reported, not dropped."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        text = body.decode("utf-8", "replace")
        return function_error(error_type or "Runtime.InvalidErrorDocument", text)
    error_type = error_type or str(document.get("errorType") or "Unhandled")
    message = str(document.get("errorMessage", ""))
    return FunctionError(error_type, message, bytes(body))


def _too_large(size: int, limit: int | None) -> FunctionError:
    return function_error(
        "Function.ResponseSizeTooLarge",
        f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
        f"({limit} bytes).",
    )


def _reject_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _trace_id() -> str:
    root = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    return f"Root={root};Parent={os.urandom(8).hex()};Sampled=0"


class _Exchange:
    """The default: a body that is read and dropped, nothing to do when the line drops."""

    def __init__(self, connection: RuntimeConnection) -> None:
        self.connection = connection

    def on_data(self, data: bytearray) -> None:
        pass

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        raise NotImplementedError

    def on_lost(self) -> None:
        pass


class _Collecting(_Exchange):
    """An exchange whose body is kept whole, up to the buffered response limit; past it the
    request is refused (413) and ``too_large`` says what that means for the invocation."""

    def __init__(self, connection: RuntimeConnection, limit: int | None) -> None:
        super().__init__(connection)
        self.limit = limit
        self._parts: list[bytes | bytearray] = []
        self._size = 0
        self._refused = False

    def on_data(self, data: bytearray) -> None:
        if self._refused:
            return
        self._size += len(data)
        if self.limit is None or self._size <= self.limit:
            self._parts.append(data)
            return
        self._refused = True
        self._parts = []
        self.too_large(self._size)

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        if self._refused:
            message = (
                f"Response payload size exceeded maximum allowed payload size ({self.limit} bytes)."
            )
            self.connection.respond(413, _reject_body("RequestEntityTooLarge", message))
            return
        self.complete(b"".join(self._parts))
        self.connection.respond(202, _ACCEPTED)

    def complete(self, body: bytes) -> None:
        """The whole body arrived within the limit (the answer, 202, follows)."""
        raise NotImplementedError

    def too_large(self, size: int) -> None:
        """The body went past the limit."""


class Rejected(_Exchange):
    """A request the API refuses, answered once its body has been read."""

    def __init__(self, connection: RuntimeConnection, status: int, kind: str, why: str) -> None:
        super().__init__(connection)
        self.status, self.kind, self.why = status, kind, why

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        self.connection.respond(self.status, _reject_body(self.kind, self.why))


class NextPoll(_Exchange):
    """``GET invocation/next``: answered with the next event, now or when one is queued."""

    def __init__(self, server: RuntimeApiServer, connection: RuntimeConnection) -> None:
        super().__init__(connection)
        self.server = server
        self.answered = False

    @property
    def alive(self) -> bool:
        return self.connection.alive and not self.answered

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        self.server.poll(self)

    def answer(self, invocation: Invocation) -> None:
        """Sends ``invocation`` as this poll's event."""
        self.answered = True
        invocation.mark_dispatched()
        deadline_ms = int((time.time() + invocation.timeout_s) * 1000)
        extra = b""
        if invocation.client_context is not None:
            extra += b"Lambda-Runtime-Client-Context: %s\r\n" % invocation.client_context.encode()
        if invocation.cognito_identity is not None:
            extra += (
                b"Lambda-Runtime-Cognito-Identity: %s\r\n" % invocation.cognito_identity.encode()
            )
        head = _NEXT_HEAD % (
            invocation.request_id.encode(),
            deadline_ms,
            self.server.function_arn.encode(),
            _trace_id().encode(),
            invocation.invocation_id.encode(),
            extra,
            len(invocation.payload),
        )
        self.connection.send(head, invocation.payload)


class ResultPost(_Collecting):
    """A buffered result: one body, at most the buffered response limit."""

    def __init__(
        self,
        server: RuntimeApiServer,
        connection: RuntimeConnection,
        invocation: Invocation,
        content_type: str | None,
    ) -> None:
        super().__init__(connection, server.buffered_limit)
        self.server = server
        self.invocation = invocation
        self.content_type = content_type

    def complete(self, body: bytes) -> None:
        invocation = self.invocation
        if invocation.ended:
            self.server.answered(invocation.request_id)
            return  # timed out while the result was on its way
        invocation.open_response(ResponseHead(streaming=False, content_type=self.content_type))
        if body:
            invocation.push_body(body)
        invocation.finish(None)

    def too_large(self, size: int) -> None:
        self.invocation.finish(_too_large(size, self.limit))


class StreamPost(_Exchange):
    """A streamed result: every chunk on to the consumer as it arrives, then the trailers."""

    def __init__(
        self,
        server: RuntimeApiServer,
        connection: RuntimeConnection,
        invocation: Invocation,
        content_type: str | None,
    ) -> None:
        super().__init__(connection)
        self.server = server
        self.invocation = invocation
        self.limit = server.streamed_limit
        self._size = 0
        invocation.open_response(
            ResponseHead(streaming=True, content_type=content_type), connection.transport
        )

    def on_data(self, data: bytearray) -> None:
        invocation = self.invocation
        if invocation.ended:
            return  # cut already (timeout, size): drain what the runtime still sends
        self._size += len(data)
        if self.limit is not None and self._size > self.limit:
            invocation.finish(
                function_error(
                    "Function.ResponseSizeTooLarge",
                    f"Response payload size exceeded maximum allowed payload size "
                    f"({self.limit} bytes).",
                )
            )
            return
        invocation.push_body(bytes(data))

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        if self.invocation.ended:
            self.server.answered(self.invocation.request_id)
        else:
            self.invocation.finish(_trailer_error(trailers))
        self.connection.respond(202, _ACCEPTED)

    def on_lost(self) -> None:
        if not self.invocation.ended:
            self.server.on_truncated(self.invocation)


def _trailer_error(trailers: list[tuple[bytes, bytes]]) -> FunctionError | None:
    """The error a stream's trailers report, or None for a clean end."""
    error_type = error_body = None
    for name, value in trailers:
        if name == ERROR_TYPE:
            error_type = value.decode("latin-1").strip()
        elif name == ERROR_BODY:
            error_body = value
    if not error_type and error_body is None:
        return None
    document = b""
    if error_body is not None:
        try:
            document = base64.b64decode(error_body, validate=True)
        except (binascii.Error, ValueError):
            document = bytes(error_body)  # not base64: report it as the runtime sent it
    return error_from_document(document, error_type or None)


class ErrorPost(_Collecting):
    """``invocation/{id}/error``: the invocation ends with the runtime's error document."""

    def __init__(
        self,
        server: RuntimeApiServer,
        connection: RuntimeConnection,
        invocation: Invocation,
        error_type: str | None,
    ) -> None:
        super().__init__(connection, server.buffered_limit)
        self.server = server
        self.invocation = invocation
        self.error_type = error_type

    def complete(self, body: bytes) -> None:
        if not self.invocation.finish(error_from_document(body, self.error_type)):
            self.server.answered(self.invocation.request_id)

    def too_large(self, size: int) -> None:
        self.invocation.finish(_too_large(size, self.limit))


class InitErrorPost(_Collecting):
    """``init/error`` (and ``restore/error``): the environment never becomes ready."""

    def __init__(
        self, server: RuntimeApiServer, connection: RuntimeConnection, error_type: str | None
    ) -> None:
        super().__init__(connection, server.buffered_limit)
        self.server = server
        self.error_type = error_type

    def complete(self, body: bytes) -> None:
        self.server.fail_init(error_from_document(body, self.error_type))


class RestoreNext(_Exchange):
    """SnapStart: AWS snapshots while this waits and answers after a restore; locally the
    restored environment is the same process, so it is answered at once."""

    def on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        self.connection.respond(200, b"")

"""A local Lambda Runtime API: the server side of the loop every runtime runs.

One server per execution environment, as in Lambda: the runtime finds it through
``AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT``. The server speaks the 2018-06-01 API
(``next``, ``response`` buffered or streamed, ``error``, ``init/error``, and SnapStart's
``restore/next`` and ``restore/error``) and turns what
the runtime sends into the ``InvocationEvent``s of ``invocation.py``.

It is an ``asyncio.Protocol`` over h11 rather than a web framework because its cost per
request caps every benchmark of a runtime client: no per-request logging, no copies
beyond the one h11 hands us. h11 also gives us what Python's HTTP servers do not: the
trailers of a chunked body (``EndOfMessage.headers``), where a streaming runtime reports
an error that happened after the first byte.

Usage::

    server = RuntimeApiServer(function_name="Fn")
    await server.start()                      # port 0: a free port; see server.address
    invocation = server.submit(b'{"x": 1}', timeout_s=3)
    async for event in invocation:            # ResponseHead, BodyChunk*, InvocationEnd
        ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable

import h11

from streamlab.emulator.invocation import (
    BodyChunk,
    FunctionError,
    InvocationEnd,
    InvocationEvent,
    ResponseHead,
)

PREFIX = "/2018-06-01/runtime/"
BUFFERED_LIMIT = 6 * 1024 * 1024 + 100  # Lambda's 6 MB (6291556 bytes) for buffered responses
STREAMED_LIMIT = 200 * 1024 * 1024  # Lambda's 200 MB for streamed responses
ERROR_TYPE = b"lambda-runtime-function-error-type"
ERROR_BODY = b"lambda-runtime-function-error-body"
RESPONSE_MODE = b"lambda-runtime-function-response-mode"
INVOCATION_ID = b"lambda-runtime-invocation-id"

# While a consumer lags behind a streaming runtime, stop reading its socket (TCP then
# pushes back on the runtime's writes) instead of holding an unbounded backlog.
_PAUSE_AT = 4 * 1024 * 1024
_RESUME_AT = 1024 * 1024

_ACCEPTED = b'{"status":"OK"}'
log = logging.getLogger(__name__)
_REASONS = {
    200: b"OK",
    202: b"Accepted",
    400: b"Bad Request",
    404: b"Not Found",
    413: b"Payload Too Large",
    431: b"Request Header Fields Too Large",
}
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


def function_error(error_type: str, error_message: str, **extra: object) -> FunctionError:
    """A FunctionError whose payload is the JSON document Lambda returns for it."""
    document = {"errorMessage": error_message, "errorType": error_type, **extra}
    return FunctionError(error_type, error_message, json.dumps(document).encode())


def _error_from_document(body: bytes, error_type: str | None) -> FunctionError:
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


def _trace_id() -> str:
    root = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
    return f"Root={root};Parent={os.urandom(8).hex()};Sampled=0"


class Invocation:
    """One event for the runtime; iterate it to follow the response as it arrives.

    Events are queued, so nothing is lost if the consumer is slow or starts late. It ends
    exactly once: by the runtime, or by ``finish`` (timeout, crash, shutdown).
    """

    def __init__(
        self,
        payload: bytes,
        *,
        timeout_s: float = 3.0,
        request_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
    ) -> None:
        self.payload = payload
        self.request_id = request_id or str(uuid.uuid4())
        # Lambda's cross-wiring guard: sent with the event, echoed on its result (a result
        # without it is accepted, as from clients that predate it).
        self.invocation_id = uuid.uuid4().hex
        self.timeout_s = timeout_s
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.dispatched_at: float | None = None  # time.monotonic() when the runtime took it
        self.ended_at: float | None = None
        self.error: FunctionError | None = None
        loop = asyncio.get_running_loop()
        self._dispatched: asyncio.Future[None] = loop.create_future()
        self._ended: asyncio.Future[None] = loop.create_future()
        self._events: deque[InvocationEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._backlog = 0
        self._pause: Callable[[], None] | None = None
        self._resume: Callable[[], None] | None = None
        self._end_callbacks: list[Callable[[Invocation], None]] = []
        self._exhausted = False
        self._detached = False

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    async def wait_dispatched(self) -> None:
        """Returns once the runtime has taken this event through ``next``."""
        await asyncio.shield(self._dispatched)

    async def wait_ended(self) -> None:
        """Returns once the invocation ended, whether or not anyone reads its events."""
        await asyncio.shield(self._ended)

    def finish(self, error: FunctionError | None = None) -> bool:
        """Ends the invocation unless it already ended; returns whether this call ended it."""
        if self.ended_at is not None:
            return False
        self.ended_at = time.monotonic()
        self.error = error
        # Callbacks run before the consumer can see the end: whoever reacts to it (a client
        # sending its next request) finds the bookkeeping done (pool, logs, concurrency).
        for callback in self._end_callbacks:
            try:
                callback(self)
            except Exception:
                log.exception("Invocation end callback failed")
        self._end_callbacks.clear()
        self._push(InvocationEnd(error))
        self._resume_reading()
        self._ended.set_result(None)
        return True

    def add_end_callback(self, callback: Callable[[Invocation], None]) -> None:
        """``callback(invocation)`` runs synchronously as the invocation ends."""
        if self.ended_at is not None:
            callback(self)
        else:
            self._end_callbacks.append(callback)

    def detach(self) -> None:
        """The consumer is gone (client disconnect): drop its events from now on.

        The runtime is not told: as in AWS, the function runs on and what it sends is
        read and discarded, so it never blocks on a full socket.
        """
        if self._detached:
            return
        self._detached = True
        self._events.clear()
        self._backlog = 0
        if self._resume is not None:
            self._resume()

    def _push(self, event: InvocationEvent) -> None:
        if self._detached and type(event) is not InvocationEnd:
            return
        self._events.append(event)
        if type(event) is BodyChunk:
            self._backlog += len(event.data)
            if self._backlog > _PAUSE_AT and self._pause is not None:
                self._pause()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _resume_reading(self) -> None:
        resume, self._pause, self._resume = self._resume, None, None
        if resume is not None:
            resume()

    def __aiter__(self) -> Invocation:
        return self

    async def __anext__(self) -> InvocationEvent:
        while not self._events:
            if self._exhausted:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        event = self._events.popleft()
        if type(event) is BodyChunk:
            self._backlog -= len(event.data)
            if self._backlog < _RESUME_AT and self._resume is not None:
                self._resume()
        elif type(event) is InvocationEnd:
            self._exhausted = True
        return event


class RuntimeApiServer:
    """The Runtime API of one execution environment."""

    def __init__(
        self,
        *,
        function_name: str = "function",
        region: str = "us-east-1",
        account_id: str = "000000000000",
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.port = 0
        self.function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self._arn = self.function_arn.encode()
        self.first_poll_at: float | None = None  # time.monotonic() of the first ``next``: init done
        self.init_error: FunctionError | None = None
        self.on_truncated: Callable[[Invocation], None] = _truncated
        self._queue: deque[Invocation] = deque()
        self._active: dict[str, Invocation] = {}
        self._pollers: deque[_RuntimeConnection] = deque()
        self._connections: set[_RuntimeConnection] = set()
        self._server: asyncio.Server | None = None
        self._ready: asyncio.Event | None = None
        self._init_failed: asyncio.Event | None = None

    @property
    def address(self) -> str:
        """The value for ``AWS_LAMBDA_RUNTIME_API``."""
        return f"{self.host}:{self.port}"

    async def start(self, port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        self._init_failed = asyncio.Event()
        self._server = await loop.create_server(
            lambda: _RuntimeConnection(self), self.host, port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self, error: FunctionError | None = None) -> None:
        """Closes every connection; unfinished invocations end with ``error``."""
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.close()
        leftover = error or function_error("Runtime.ExitError", "The execution environment stopped")
        for invocation in [*self._queue, *self._active.values()]:
            invocation.finish(leftover)
        self._queue.clear()
        self._active.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def wait_ready(self) -> None:
        """Returns once the runtime first asks for an event (its init is over)."""
        assert self._ready is not None, "start() first"
        await self._ready.wait()

    async def wait_init_failed(self) -> FunctionError:
        assert self._init_failed is not None, "start() first"
        await self._init_failed.wait()
        assert self.init_error is not None
        return self.init_error

    def submit(
        self,
        payload: bytes,
        *,
        timeout_s: float = 3.0,
        request_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
    ) -> Invocation:
        """Queues an event for the runtime's next ``next`` (answered at once if it waits)."""
        invocation = Invocation(
            payload,
            timeout_s=timeout_s,
            request_id=request_id,
            client_context=client_context,
            cognito_identity=cognito_identity,
        )
        self.enqueue(invocation)
        return invocation

    def enqueue(self, invocation: Invocation) -> None:
        """Like ``submit``, for an Invocation built beforehand."""
        if invocation.ended:
            return
        invocation.add_end_callback(self._forget)
        if self.init_error is not None:
            invocation.finish(self.init_error)
            return
        self._active[invocation.request_id] = invocation
        while self._pollers:
            poller = self._pollers.popleft()
            if poller.alive:
                poller.send_event(invocation)
                return
        self._queue.append(invocation)

    def _forget(self, invocation: Invocation) -> None:
        self._active.pop(invocation.request_id, None)
        if invocation.dispatched_at is None:
            with contextlib.suppress(ValueError):
                self._queue.remove(invocation)

    def _poll(self, connection: _RuntimeConnection) -> None:
        if self.first_poll_at is None:
            self.first_poll_at = time.monotonic()
            assert self._ready is not None
            self._ready.set()
        if self._queue:
            connection.send_event(self._queue.popleft())
        else:
            self._pollers.append(connection)

    def _fail_init(self, error: FunctionError) -> None:
        self.init_error = error
        for invocation in list(self._queue):
            invocation.finish(error)
        assert self._init_failed is not None
        self._init_failed.set()


def _truncated(invocation: Invocation) -> None:
    invocation.finish(
        function_error(
            "Runtime.TruncatedResponse",
            "The runtime closed its connection before the response was complete",
        )
    )


class _RuntimeConnection(asyncio.Protocol):
    """One keep-alive connection from the runtime; requests are handled in order."""

    def __init__(self, server: RuntimeApiServer) -> None:
        self.server = server
        self.conn = h11.Connection(h11.SERVER)
        self.transport: asyncio.Transport | None = None
        self.alive = True
        self._waiting = False  # a response is owed later (long-poll ``next``)
        self._route: Callable[[], None] | None = None  # what to do at the request's end
        self._invocation: Invocation | None = None
        self._streaming = False
        self._body: list[bytes | bytearray] = []
        self._size = 0
        self._reject: tuple[int, str, str] | None = None
        self._content_type: str | None = None
        self._request_error_type: str | None = None
        self._trailers: list[tuple[bytes, bytes]] = []
        self._processing = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        self._process()

    def eof_received(self) -> bool | None:
        self.conn.receive_data(b"")
        self._process()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        self.server._connections.discard(self)
        invocation = self._invocation
        if invocation is not None and not invocation.ended and self._streaming:
            self.server.on_truncated(invocation)
        self._invocation = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # request handling

    def _process(self) -> None:
        self._processing = True
        try:
            self._next_events()
        finally:
            self._processing = False

    def _next_events(self) -> None:
        while self.alive and not self._waiting:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError as exc:
                self._fail_protocol(exc)
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            kind = type(event)
            if kind is h11.Data:
                self._on_data(event.data)  # type: ignore[union-attr]
            elif kind is h11.Request:
                self._on_request(event)  # type: ignore[arg-type]
            elif kind is h11.EndOfMessage:
                self._on_end(event.headers)  # type: ignore[union-attr]
            elif kind is h11.ConnectionClosed:
                self.close()
                return

    def _on_request(self, request: h11.Request) -> None:
        target = request.target.decode("ascii", "replace")
        method = request.method
        self._body = []
        self._size = 0
        self._reject = None
        self._streaming = False
        self._invocation = None
        self._content_type = None
        self._request_error_type = None
        echoed = None
        for name, value in request.headers:
            if name == ERROR_TYPE:
                self._request_error_type = value.decode("latin-1").strip() or None
            elif name == INVOCATION_ID:
                echoed = value.decode("latin-1").strip()
        if self.conn.client_is_waiting_for_100_continue:
            self._write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if not target.startswith(PREFIX):
            self._reject = (404, "InvalidRequest", f"Unknown path {target}")
            return
        path = target[len(PREFIX) :]
        if path == "invocation/next" and method == b"GET":
            self._route = self._on_next
        elif path == "init/error" and method == b"POST":
            self._route = self._on_init_error
        elif path == "restore/next" and method == b"GET":
            self._route = self._on_restore_next
        elif path == "restore/error" and method == b"POST":
            self._route = self._on_init_error  # the environment never becomes ready either
        elif path.startswith("invocation/") and method == b"POST":
            _, _, rest = path.partition("/")
            request_id, _, action = rest.partition("/")
            invocation = self.server._active.get(request_id)
            if action not in ("response", "error"):
                self._reject = (404, "InvalidRequest", f"Unknown path {target}")
            elif invocation is None or invocation.dispatched_at is None or invocation.ended:
                self._reject = (400, "InvalidRequestID", f"Invalid request ID {request_id}")
            elif echoed is not None and echoed != invocation.invocation_id:
                # as AWS's Runtime API (the RIE's Managed Instances code) words it
                self._reject = (
                    400,
                    "ValidationError",
                    f"Cross-wiring detected: invocation ID mismatch on {action}",
                )
            elif action == "error":
                self._invocation = invocation
                self._route = self._on_error
            else:
                self._start_response(request, invocation)
        else:
            self._reject = (404, "InvalidRequest", f"Unknown path {method.decode()} {target}")

    def _start_response(self, request: h11.Request, invocation: Invocation) -> None:
        content_type = None
        mode = None
        for name, value in request.headers:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == RESPONSE_MODE:
                mode = value.decode("latin-1")
        self._invocation = invocation
        self._route = self._on_response_end
        if mode is None:
            self._content_type = content_type
            return
        if mode != "streaming":
            self._reject = (
                400,
                "InvalidFunctionResponseMode",
                f"Invalid function response mode {mode!r}: only 'streaming' is accepted",
            )
            self._invocation = None
            return
        self._streaming = True
        transport = self.transport
        assert transport is not None
        invocation._pause = transport.pause_reading
        invocation._resume = transport.resume_reading
        invocation._push(ResponseHead(streaming=True, content_type=content_type))

    def _on_data(self, data: bytearray) -> None:
        if self._reject is not None:
            return
        self._size += len(data)
        invocation = self._invocation
        if self._streaming and invocation is not None:
            if invocation.ended:
                return  # cut already (timeout): drain what the runtime still sends
            if self._size > STREAMED_LIMIT:
                invocation.finish(
                    function_error(
                        "Function.ResponseSizeTooLarge",
                        f"Response payload size exceeded maximum allowed payload size "
                        f"({STREAMED_LIMIT} bytes).",
                    )
                )
                return
            invocation._push(BodyChunk(bytes(data)))
        elif self._size > BUFFERED_LIMIT:
            self._reject = (
                413,
                "RequestEntityTooLarge",
                f"Response payload size exceeded maximum allowed payload size "
                f"({BUFFERED_LIMIT} bytes).",
            )
            if invocation is not None:
                invocation.finish(
                    function_error(
                        "Function.ResponseSizeTooLarge",
                        f"Response payload size ({self._size} bytes) exceeded maximum "
                        f"allowed payload size ({BUFFERED_LIMIT} bytes).",
                    )
                )
            self._body = []
        else:
            self._body.append(data)

    def _on_end(self, trailers: list[tuple[bytes, bytes]]) -> None:
        if self._reject is not None:
            status, error_type, message = self._reject
            body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
            self._respond(status, body)
            return
        route, self._route = self._route, None
        assert route is not None
        self._trailers = trailers
        route()

    # routes

    def _on_next(self) -> None:
        self._waiting = True
        self.server._poll(self)

    def send_event(self, invocation: Invocation) -> None:
        """Answers this connection's pending ``next`` with ``invocation``."""
        invocation.dispatched_at = time.monotonic()
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
            self.server._arn,
            _trace_id().encode(),
            invocation.invocation_id.encode(),
            extra,
            len(invocation.payload),
        )
        self._waiting = False
        self._send(head, invocation.payload)
        if not invocation._dispatched.done():
            invocation._dispatched.set_result(None)

    def _on_response_end(self) -> None:
        invocation = self._invocation
        self._invocation = None
        assert invocation is not None
        if not invocation.ended:
            if self._streaming:
                self._end_stream(invocation)
            else:
                body = b"".join(self._body)
                self._body = []
                invocation._push(ResponseHead(streaming=False, content_type=self._content_type))
                if body:
                    invocation._push(BodyChunk(body))
                invocation.finish(None)
        self._streaming = False
        self._respond(202, _ACCEPTED)

    def _end_stream(self, invocation: Invocation) -> None:
        error_type = error_body = None
        for name, value in self._trailers:
            if name == ERROR_TYPE:
                error_type = value.decode("latin-1").strip()
            elif name == ERROR_BODY:
                error_body = value
        if not error_type and error_body is None:
            invocation.finish(None)
            return
        document = b""
        if error_body is not None:
            try:
                document = base64.b64decode(error_body, validate=True)
            except (binascii.Error, ValueError):
                document = bytes(error_body)  # not base64: report it as the runtime sent it
        invocation.finish(_error_from_document(document, error_type or None))

    def _on_error(self) -> None:
        invocation = self._invocation
        self._invocation = None
        assert invocation is not None
        body = b"".join(self._body)
        self._body = []
        invocation.finish(_error_from_document(body, self._request_error_type))
        self._respond(202, _ACCEPTED)

    def _on_restore_next(self) -> None:
        """SnapStart: AWS snapshots while this waits and answers after a restore; locally the
        restored environment is the same process, so it is answered at once."""
        self._respond(200, b"")

    def _on_init_error(self) -> None:
        body = b"".join(self._body)
        self._body = []
        self.server._fail_init(_error_from_document(body, self._request_error_type))
        self._respond(202, _ACCEPTED)

    # output: written by hand (see the module docstring: cost per request); h11 parses.

    def _respond(self, status: int, body: bytes) -> None:
        head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        self._send(head % (status, _REASONS.get(status, b""), len(body)), body)

    def _send(self, head: bytes, body: bytes) -> None:
        """Writes one whole response, then readies the parser for the next request."""
        transport = self.transport
        if transport is None or not self.alive:
            return
        if len(body) < 65536:
            transport.write(head + body)
        else:
            transport.write(head)
            transport.write(body)
        if self.conn.their_state is not h11.DONE:  # Connection: close, HTTP/1.0
            self.close()
            return
        # A fresh parser per request: h11 requires our side of the cycle to go through it
        # too, and building a Connection (about 1 µs) is cheaper than that.
        leftover, closed = self.conn.trailing_data
        self.conn = h11.Connection(h11.SERVER)
        if leftover:
            self.conn.receive_data(leftover)
        if closed:
            self.conn.receive_data(b"")
        if not self._processing:
            # A deferred answer (long-poll): pick up what the runtime sent meanwhile.
            self._process()

    def _write(self, data: bytes) -> None:
        if self.transport is not None and self.alive:
            self.transport.write(data)

    def _fail_protocol(self, exc: h11.RemoteProtocolError) -> None:
        body = json.dumps({"errorMessage": str(exc), "errorType": "InvalidRequest"}).encode()
        status = exc.error_status_hint
        self._write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (status, _REASONS.get(status, b""), len(body), body)
        )
        self.close()

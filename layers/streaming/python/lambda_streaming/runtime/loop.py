"""The runtime loop: take an event, run the handler, deliver its result, repeat.

Every outcome ends the invocation properly: a result (streamed or buffered), an ``/error`` post
when nothing was sent yet, or error trailers once the stream has started. A failing handler
never takes the runtime down; the next event is served as usual. Events and plain results keep
the stock client's JSON conventions byte for byte (``decode_event``, ``marshal_result``).
"""

from __future__ import annotations

import json
import os

from lambda_streaming.runtime import logs
from lambda_streaming.runtime.context import LambdaContext
from lambda_streaming.runtime.handler import is_streaming, takes_stream
from lambda_streaming.runtime.pipeline import Pipeline
from lambda_streaming.runtime.protocol import RuntimeApiError

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from typing import Any

    from lambda_streaming.runtime.logs import Logs
    from lambda_streaming.runtime.protocol import RuntimeApi
    from lambda_streaming.runtime.stream import ResponseStream


class Invocation:
    """One event from ``next``: what the runtime acts on, and the response stream once made.

    A plain class, not a dataclass: importing dataclasses costs several ms of cold start.
    """

    __slots__ = (
        "body",
        "client_context",
        "cognito_identity",
        "content_type",
        "deadline_ms",
        "invoked_function_arn",
        "request_id",
        "stream",
        "tenant_id",
        "trace_id",
    )

    def __init__(self, headers: dict[str, str], body: bytes) -> None:
        get = headers.get
        self.request_id = get("lambda-runtime-aws-request-id", "")
        self.deadline_ms = int(get("lambda-runtime-deadline-ms") or 0)
        self.invoked_function_arn = get("lambda-runtime-invoked-function-arn", "")
        self.trace_id = get("lambda-runtime-trace-id")
        self.client_context = get("lambda-runtime-client-context")
        self.cognito_identity = get("lambda-runtime-cognito-identity")
        self.tenant_id = get("lambda-runtime-aws-tenant-id")
        self.content_type = get("content-type")
        self.body = body
        self.stream: ResponseStream | None = None


class Runtime:
    """Serves invocations with one handler. ``buffered``: BUFFERED mode, with the
    ``"module:function"`` that shapes a collected stream into the result (``buffered.Shape``);
    empty: responses stream."""

    def __init__(
        self,
        api: RuntimeApi,
        handler: Callable[..., Any],
        logs: Logs,
        buffered: str = "",
        multi_concurrent: bool = False,
    ) -> None:
        self._pipeline = Pipeline(api)
        self._handler = handler
        self._streaming = is_streaming(handler)
        self._pass_stream = self._streaming and takes_stream(handler)
        self._buffered = buffered
        self._logs = logs
        # Managed Instances worker: a result Lambda refused is only a warning, as the stock
        # client's workers have it (runtime.workers).
        self._multi_concurrent = multi_concurrent
        self._loop: Any = None  # asyncio imported only when a handler needs it
        self._stream_types: tuple[Any, Any, Any] | None = None  # loaded with the first stream

    def serve_forever(self, headers: dict[str, str], body: bytes) -> None:
        """Serve this event, then every next one, for ever."""
        fetch = self._pipeline.next
        if self._multi_concurrent:
            from lambda_streaming.runtime.workers import retrying

            fetch = retrying(fetch)  # a worker's next is retried, as the stock client's
        self.serve(headers, body)
        while True:
            self.serve(*fetch())

    def serve(self, headers: dict[str, str], body: bytes) -> None:
        """One invocation, from its event to the end the Runtime API acknowledged."""
        invocation = self._begin(headers, body)
        try:
            result = self._call_handler(invocation)
            self._pipeline.handler_returned()
            self._deliver(invocation, result)
        except Exception as exc:
            self._fail(exc, invocation)
        try:
            self._pipeline.end_invocation()
        except Exception as exc:  # a refused result, a broken reply: logged, and serve on
            self._report_failure(exc, invocation)

    def _begin(self, headers: dict[str, str], body: bytes) -> Invocation:
        """The invocation, with its request id on the logs and its trace id in the env."""
        invocation = Invocation(headers, body)
        self._pipeline.begin(headers)
        self._logs.request_id = invocation.request_id
        self._logs.tenant_id = invocation.tenant_id
        if logs.handler_pending:  # logging imported where the import hook could not see it
            logs.install_pending_handler()
        if invocation.trace_id is not None:
            os.environ["_X_AMZN_TRACE_ID"] = invocation.trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        return invocation

    def _call_handler(self, invocation: Invocation) -> Any:
        """Run the handler to its result; a result that streams itself has streamed."""
        event = decode_event(invocation.body, invocation.content_type)
        context = LambdaContext(
            invocation.request_id,
            invocation.deadline_ms,
            invocation.invoked_function_arn,
            invocation.client_context,
            invocation.cognito_identity,
            invocation.tenant_id,
        )
        if self._pass_stream:
            stream = invocation.stream = self._open_stream(invocation, event)
            result = self._handler(event, stream, context)
        else:
            result = self._handler(event, context)
        if hasattr(type(result), "__await__"):  # on the type, as the protocol looks it up
            result = self._run(_await(result))
        # StreamingResponse and kin; looked up on the type, so an object answering every
        # attribute (a MagicMock, a __getattr__ proxy) is marshalled as the stock client does
        if getattr(type(result), "stream_into", None) is not None:
            target = invocation.stream
            if target is None:
                target = invocation.stream = self._open_stream(invocation, event)
            elif target.started:
                from lambda_streaming.runtime.stream import StreamStateError

                raise StreamStateError(
                    "the handler wrote to response_stream and also returned a "
                    "StreamingResponse; use one or the other"
                )
            result.stream_into(target, self._run)
            return None
        if self._streaming:
            if result is not None and invocation.stream is None:
                raise TypeError(
                    "a @streamify_response handler taking (event, context) must return a "
                    f"StreamingResponse, not {type(result).__name__}"
                )
            if invocation.stream is None:  # returned nothing: an empty response still goes
                invocation.stream = self._open_stream(invocation, event)
        return result

    def _deliver(self, invocation: Invocation, result: Any) -> None:
        """The handler is done: end its stream, or post its result (``next`` rides along)."""
        try:
            if invocation.stream is not None:
                invocation.stream.end()  # nothing, if the handler ended it itself
            else:
                body, content_type = marshal_result(result)
                self._pipeline.post_response(invocation.request_id, body, content_type)
        except OSError as exc:  # the result's bytes could not go out (a refusal comes later)
            if not self._multi_concurrent:
                raise
            _warn_and_go_on(exc)  # a Managed Instances worker: a lost result only warns

    def _open_stream(self, invocation: Invocation, event: Any) -> ResponseStream:
        types = self._stream_types
        if types is None:  # imported once, not on every invocation (about 1 us each)
            types = self._stream_types = _load_stream_types(self._buffered)
        stream_class, sink_class, shape = types
        if shape is not None:
            sink = sink_class(self._pipeline, invocation.request_id, event, shape)
        else:
            sink = sink_class(self._pipeline, invocation.request_id, "application/octet-stream")
        return stream_class(sink)  # type: ignore[no-any-return]

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run async handler code on one event loop kept across invocations, so clients
        created at import or in an earlier invocation stay usable."""
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
        return self._loop.run_until_complete(coroutine)

    def _fail(self, exc: Exception, invocation: Invocation) -> None:
        """Report a failure the one way left: trailers, ``/error``, or (response ended) the log."""
        from lambda_streaming.runtime.failures import error_document, xray_cause  # first failure
        from lambda_streaming.runtime.reports import post_invocation_error

        document = error_document(exc, invocation.request_id)
        self._logs.log_error(document)
        self._pipeline.handler_returned()
        stream = invocation.stream
        try:
            if stream is not None and stream.abort(document):
                return  # in the trailers (abort waited for any thread still writing)
            if stream is None or not stream.committed:
                post_invocation_error(
                    self._pipeline, invocation.request_id, document, xray_cause(exc)
                )
            # else: the response was already complete; the error is only logged
        except Exception as report_failure:
            if stream is not None and stream.committed:
                # A body Lambda saw start but never saw end: a broken connection tells it so.
                self._pipeline.close()
            self._report_failure(report_failure, invocation)

    def _report_failure(self, exc: Exception, invocation: Invocation) -> None:
        """What could not be delivered or reported: logged, and the runtime serves on."""
        if self._multi_concurrent and isinstance(exc, (OSError, RuntimeApiError)):
            _warn_and_go_on(exc)
            return
        from lambda_streaming.runtime.failures import error_document

        self._logs.log_error(error_document(exc, invocation.request_id))


def decode_event(body: bytes, content_type: str | None) -> Any:
    """The event as the stock client gives it: JSON decoded, any other type as bytes."""
    if content_type and content_type.split(";")[0].strip() != "application/json":
        return body
    try:
        return json.loads(body)
    except ValueError as exc:
        from lambda_streaming.runtime.errors import UNMARSHAL_ERROR, RuntimeFault

        raise RuntimeFault(UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}") from None


def marshal_result(result: Any) -> tuple[bytes, str]:
    """The stock client's buffered result: bytes as-is, anything else as JSON.

    A ``Decimal`` (DynamoDB numbers) is written as ``str(value)``, exact, as the stock encoder's
    ``RawJSON(str(value))`` does, and a NaN as ``NaN``. The json module cannot emit raw text,
    so each finite Decimal becomes a marker string first, then the marker is replaced.
    """
    if isinstance(result, bytes):
        return result, "application/unknown"
    decimals: list[str] = []

    def default(value: Any) -> Any:
        from decimal import Decimal

        if isinstance(value, Decimal):
            if value.is_nan():  # sNaN too; float() would refuse a signalling NaN
                return float("nan")
            decimals.append(str(value))  # "Infinity"/"-Infinity" for infinities, as stock
            return _DECIMAL_MARK
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    try:
        text = json.dumps(result, ensure_ascii=False, default=default)
        if decimals:
            pieces = text.split(_DECIMAL_TOKEN)
            if len(pieces) != len(decimals) + 1:  # a string equal to the marker: never guess
                raise ValueError("a string in the result collides with the Decimal marker")
            text = pieces[0] + "".join(d + p for d, p in zip(decimals, pieces[1:], strict=True))
    except Exception as exc:  # as the stock client: any encoding failure is a MarshalError
        from lambda_streaming.runtime.errors import MARSHAL_ERROR, RuntimeFault

        raise RuntimeFault(MARSHAL_ERROR, f"Unable to marshal response: {exc}") from None
    return text.encode(), "application/json"


# Stands in for a Decimal during encoding; the private-use characters keep it from any real text.
_DECIMAL_MARK = "\ue000lambda-streaming-decimal\ue001"
_DECIMAL_TOKEN = json.dumps(_DECIMAL_MARK, ensure_ascii=False)


def _load_stream_types(buffered: str) -> tuple[Any, Any, Any]:
    """``ResponseStream``, its sink and (BUFFERED) the shape named by ``buffered``, loaded
    with the first stream: a function whose handlers return plain results never compiles
    them. The shape's module is whatever the entry named: the runtime knows no front."""
    from lambda_streaming.runtime.stream import ResponseStream

    if buffered:
        from lambda_streaming.runtime.buffered import BufferedSink

        module, _, name = buffered.partition(":")
        return ResponseStream, BufferedSink, getattr(__import__(module, fromlist=[name]), name)
    from lambda_streaming.runtime.chunked import ChunkedPost

    return ResponseStream, ChunkedPost, None


def _warn_and_go_on(exc: BaseException) -> None:
    """A Managed Instances worker's answer to a refused result: the stock client's warning."""
    import logging  # attaches the runtime's log handler (logs.install) if it is the first import

    logging.warning(f"{exc}: This won't kill the Runtime loop")


async def _await(awaitable: Any) -> Any:
    return await awaitable

"""The runtime loop: take an event, run the handler, deliver its result, repeat.

Every outcome ends the invocation properly: a result (streamed or buffered), an ``/error`` post
when nothing was sent yet, or error trailers once the stream has started. A failing handler
never takes the runtime down; the next event is served as usual.
"""

from __future__ import annotations

import json
import os

from lambda_streaming.runtime import errors, logs, results
from lambda_streaming.runtime.api import RuntimeApiError
from lambda_streaming.runtime.context import LambdaContext
from lambda_streaming.runtime.errors import RuntimeFault
from lambda_streaming.runtime.handler import is_streaming, takes_stream

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambda_streaming.runtime.api import RuntimeApiClient
    from lambda_streaming.runtime.logs import Logs
    from lambda_streaming.runtime.stream import ResponseStream


class Invocation:
    """One event from ``next``: its body and the headers the runtime acts on.

    A plain class, not a dataclass: importing dataclasses costs several ms of cold start.
    """

    __slots__ = (
        "body",
        "client_context",
        "cognito_identity",
        "content_type",
        "deadline_ms",
        "invocation_id",
        "invoked_function_arn",
        "request_id",
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
        self.invocation_id = get("lambda-runtime-invocation-id")
        self.body = body


class Runtime:
    def __init__(
        self,
        client: RuntimeApiClient,
        handler: Callable[..., Any],
        buffered: bool,
        logs: Logs,
        multi_concurrent: bool = False,
    ) -> None:
        self._client = client
        # Managed Instances worker: a result Lambda refused is only a warning, and a failed
        # next is retried, as the stock client's workers do (runtime.workers).
        self._multi_concurrent = multi_concurrent
        self._handler = handler
        self._streaming = is_streaming(handler)
        self._pass_stream = self._streaming and takes_stream(handler)
        self._buffered = buffered
        self._stream_types: tuple[Any, Any, Any] | None = None  # see _load_stream_types
        self._logs = logs
        self._loop: Any = None  # asyncio imported only when a handler needs it

    def serve_forever(self, fetch: Callable[[], tuple[dict[str, str], bytes]]) -> None:
        """Serve what ``fetch`` (``next``, or a worker's retrying one) hands over, for ever."""
        while True:
            self.serve(*fetch())

    def serve(self, headers: dict[str, str], body: bytes) -> None:
        invocation = Invocation(headers, body)
        logs.request_id = invocation.request_id
        logs.tenant_id = invocation.tenant_id
        if logs.handler_pending:  # logging imported where the import hook could not see it
            logs.install_pending_handler()
        if invocation.trace_id is not None:
            os.environ["_X_AMZN_TRACE_ID"] = invocation.trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        stream: ResponseStream | None = None
        try:
            context = LambdaContext(
                invocation.request_id,
                invocation.deadline_ms,
                invocation.invoked_function_arn,
                invocation.client_context,
                invocation.cognito_identity,
                invocation.tenant_id,
            )
            event = _decode_event(invocation)
            if self._pass_stream:
                stream = self._new_stream(invocation.request_id, event)
                result = self._handler(event, stream, context)
            else:
                result = self._handler(event, context)
            if hasattr(type(result), "__await__"):  # on the type, as the protocol looks it up
                result = self._run(_await(result))
            # StreamingResponse and kin; looked up on the type, so an object answering every
            # attribute (a MagicMock, a __getattr__ proxy) is marshalled as the stock client does
            if getattr(type(result), "stream_into", None) is not None:
                if stream is None:
                    stream = self._new_stream(invocation.request_id, event)
                elif stream.started:
                    from lambda_streaming.runtime.stream import StreamStateError

                    raise StreamStateError(
                        "the handler wrote to response_stream and also returned a "
                        "StreamingResponse; use one or the other"
                    )
                result.stream_into(stream, self._run)
            elif stream is None and self._streaming and result is not None:
                raise TypeError(
                    "a @streamify_response handler taking (event, context) must return a "
                    f"StreamingResponse, not {type(result).__name__}"
                )
            elif stream is None and self._streaming:
                stream = self._new_stream(invocation.request_id, event)
            if stream is None:
                body, content_type = _marshal(result)
            try:
                if stream is not None:
                    stream._end(None, ends_invocation=True)
                else:
                    results.post_response(
                        self._client,
                        invocation.request_id,
                        body,
                        content_type,
                        ends_invocation=True,
                    )
            except (OSError, RuntimeApiError) as exc:
                if not self._multi_concurrent:
                    raise
                _warn_and_go_on(exc)  # a Managed Instances worker: a refused result only warns
        except Exception as exc:
            self._fail(exc, invocation, stream)  # waits for a handler's thread inside end()
        # (on success, stream._end took the stream's lock: no thread is writing any more)
        if self._client.owed_reply:  # the handler ended its stream itself, then returned
            self._end_invocation(invocation)

    def _end_invocation(self, invocation: Invocation) -> None:
        """Ask for ``next`` and read the reply an early-ended stream still owes."""
        try:
            results.end_invocation(self._client)
        except Exception as exc:  # whatever it was (a refusal, a broken reply), serve on
            if self._multi_concurrent and isinstance(exc, (OSError, RuntimeApiError)):
                _warn_and_go_on(exc)
                return
            from lambda_streaming.runtime.failures import error_document

            self._logs.log_error(error_document(exc, invocation.request_id))

    def _new_stream(self, request_id: str, event: Any) -> ResponseStream:
        types = self._stream_types
        if types is None:  # imported once, not on every invocation (about 1 us each)
            types = self._stream_types = _load_stream_types(self._buffered)
        stream_class, sink_class, is_rest_event = types
        if is_rest_event is not None:  # BUFFERED: the result's shape depends on the front
            return stream_class(sink_class(self._client, request_id, is_rest_event(event)))
        return stream_class(sink_class(self._client, request_id, "application/octet-stream"))

    def _run(self, coroutine: Any) -> Any:
        """Run async handler code on one event loop kept across invocations, so clients
        created at import or in an earlier invocation stay usable."""
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
        return self._loop.run_until_complete(coroutine)

    def _fail(self, exc: Exception, invocation: Invocation, stream: ResponseStream | None) -> None:
        from lambda_streaming.runtime.failures import error_document, xray_cause  # first failure
        from lambda_streaming.runtime.reports import post_invocation_error

        document = error_document(exc, invocation.request_id)
        self._logs.log_error(document)
        if stream is not None:
            stream._settled()  # what a handler's thread is still sending decides what is left
        try:
            if self._client.next_pending:
                pass  # the result went out and was refused: Lambda ended the invocation; logged
            elif stream is None or not stream.committed:
                post_invocation_error(
                    self._client, invocation.request_id, document, xray_cause(exc)
                )
            elif not stream.ended:
                stream._abort(document)
            # else: the response was already complete; the error is only logged
        except Exception as report_failure:  # whatever it was, the runtime serves on
            if stream is not None and stream.committed and not self._client.next_pending:
                # A body Lambda saw start but never saw end: a broken connection tells it so.
                # (With next pending the body did end, and was refused: the connection stays.)
                self._client.close()
            if self._multi_concurrent and isinstance(report_failure, (OSError, RuntimeApiError)):
                _warn_and_go_on(report_failure)
            else:
                self._logs.log_error(error_document(report_failure, invocation.request_id))


def _load_stream_types(buffered: bool) -> tuple[Any, Any, Any]:
    """``ResponseStream``, its sink and (BUFFERED only) the front test, loaded with the first
    stream: a function whose handlers return plain results never compiles them."""
    from lambda_streaming.runtime.stream import ResponseStream

    if buffered:
        from lambda_streaming.http.buffered import BufferedSink
        from lambda_streaming.http.request import is_rest_event

        return ResponseStream, BufferedSink, is_rest_event
    from lambda_streaming.runtime.chunked import ChunkedPost

    return ResponseStream, ChunkedPost, None


def _decode_event(invocation: Invocation) -> Any:
    content_type = invocation.content_type
    if content_type and content_type.split(";")[0].strip() != "application/json":
        return invocation.body  # as the stock client: non-JSON events arrive as bytes
    try:
        return json.loads(invocation.body)
    except ValueError as exc:
        raise RuntimeFault(errors.UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}") from None


def _marshal(result: Any) -> tuple[bytes, str]:
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
        raise RuntimeFault(errors.MARSHAL_ERROR, f"Unable to marshal response: {exc}") from None
    return text.encode(), "application/json"


# Stands in for a Decimal during encoding; the private-use characters keep it from any real text.
_DECIMAL_MARK = "\ue000lambda-streaming-decimal\ue001"
_DECIMAL_TOKEN = json.dumps(_DECIMAL_MARK, ensure_ascii=False)


def _warn_and_go_on(exc: BaseException) -> None:
    """A Managed Instances worker's answer to a refused result: the stock client's warning."""
    import logging  # attaches the runtime's log handler (logs.install) if it is the first import

    logging.warning(f"{exc}: This won't kill the Runtime loop")


async def _await(awaitable: Any) -> Any:
    return await awaitable

"""The response stream a handler writes to: bytes in, chunks on the wire.

Mirrors Node's ``awslambda.ResponseStream`` so its documentation carries over. The stream knows
nothing of HTTP: a front (``lambda_streaming.http``) may attach a prelude, which goes out just
before the first body byte, also when the body is empty (Node drops it then, losing status and
headers). Changing the content type after the first byte is an error, not a silent no-op.
"""

from __future__ import annotations

from _thread import allocate_lock  # the C module, loaded at interpreter start: no import cost

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Iterable

    from lambda_streaming.runtime.interfaces import ErrorDocument, Prelude, Sink


DEFAULT_CONTENT_TYPE = "application/octet-stream"


class StreamStateError(RuntimeError):
    """The stream was used in a way its state does not allow (e.g. write after end)."""


class StreamBrokenError(ConnectionError):
    """The connection carrying a streamed response failed; the rest of the body is lost."""


class ResponseStream:
    """A writable byte stream; every ``write()`` goes to the client at once.

    ``write`` blocks while the reader is slow (back-pressure), so a fast producer cannot
    exhaust memory. It accepts ``str`` (sent as UTF-8) or bytes-like objects. Threads may
    share a stream: each write goes out whole, and none before the prelude.
    """

    def __init__(self, sink: Sink) -> None:
        self._lock = allocate_lock()
        self._sink = sink
        self._content_type = DEFAULT_CONTENT_TYPE
        self._prelude: Prelude | None = None
        self._started = False
        self._ended = False

    @property
    def content_type(self) -> str:
        """With a prelude, the response body's Content-Type; else the raw stream's."""
        if self._prelude is not None:
            return self._prelude.body_content_type()
        return self._content_type

    @property
    def started(self) -> bool:
        """True once the first bytes were handed on; status and headers are fixed from then."""
        return self._started

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def committed(self) -> bool:
        """True once bytes reached the platform: an error can then only end the stream."""
        return self._sink.committed

    def set_content_type(self, content_type: str) -> None:
        if self._started:
            raise StreamStateError(
                "set_content_type() must be called before the first write(): the content type "
                "was sent with the first bytes"
            )
        if not isinstance(content_type, str) or not content_type:
            raise TypeError("content_type must be a non-empty str")
        if self._prelude is not None:
            self._prelude.set_body_content_type(content_type)
        else:
            self._content_type = content_type
            self._sink.set_content_type(content_type)

    def write(self, data: str | bytes | bytearray | memoryview) -> None:
        data = _as_bytes(data, "write")
        with self._lock:
            if self._ended:
                raise StreamStateError("write() after end(): the response is already complete")
            if not data and self._started:
                return  # an empty chunk would end the HTTP body early
            try:
                self._sink.send(self._with_prelude(data) if not self._started else (data,))
            except StreamBrokenError:
                self._ended = True  # nothing more can go out; later writes are a clear error
                raise

    def writelines(self, lines: Iterable[str | bytes]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Nothing to do: writes are never buffered. Present so print(file=stream) works."""

    def end(self, data: str | bytes | None = None) -> None:
        """Finish the response. Called for you when the handler returns; safe to repeat.

        Code after it still runs within the invocation, as after Node's ``end()``.
        """
        last: tuple[bytes, ...] = (bytes(_as_bytes(data, "end")),) if data else ()
        with self._lock:
            if self._ended:
                return
            if not self._started:
                last = self._with_prelude(last[0] if last else b"")
            self._ended = True
            self._sink.finish(None, last)  # the last bytes and the end in one write

    def abort(self, error: ErrorDocument) -> bool:
        """End the response reporting ``error`` in its trailers (Node's ``destroy(error)``):
        the client sees the body cut short, Lambda logs the error. Only once bytes have left;
        returns False when nothing was sent yet (report the error another way: the runtime
        posts it as the invocation's failure) or the response had already ended. Either way
        the stream is ended afterwards, and waits for a write another thread has under way.
        """
        with self._lock:
            if self._ended:
                return False
            self._ended = True
            if not self._sink.committed:
                return False
            self._sink.finish(error)
            return True

    def set_prelude(self, prelude: Prelude) -> None:
        """For fronts: send ``prelude`` ahead of the body (``HttpResponseStream.from_`` does);
        the stream's own content type becomes the prelude's."""
        if self._started:
            raise StreamStateError("HttpResponseStream.from_() must come before the first write()")
        self._prelude = prelude
        self._content_type = prelude.content_type
        self._sink.set_content_type(prelude.content_type)

    def _with_prelude(self, data: bytes | bytearray | memoryview) -> tuple[bytes, ...]:
        self._started = True
        pieces: tuple[bytes, ...] = (bytes(data),) if data else ()
        if self._prelude is None:
            return pieces
        return (*self._prelude.encode(), *pieces)

    def __enter__(self) -> ResponseStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.end()


def _as_bytes(data: object, method: str) -> bytes | bytearray | memoryview:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, memoryview) and (
        data.itemsize != 1 or data.ndim != 1 or not data.c_contiguous
    ):
        # Chunk sizes count bytes, where len() of such a view counts items (or rows); and
        # sendmsg() takes contiguous buffers only.
        return data.cast("B") if data.c_contiguous else data.tobytes()
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"{method}() takes str or bytes, not {type(data).__name__}")
    return data

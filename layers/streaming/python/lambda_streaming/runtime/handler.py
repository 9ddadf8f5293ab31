"""Streaming handlers: the ``streamify_response`` mark, and how a marked handler is called."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__lambda_streaming_response__"


def streamify_response(handler: F) -> F:
    """Mark ``handler`` as streaming (Node's ``awslambda.streamifyResponse``).

    ``handler(event, response_stream, context)`` writes to the stream; a handler written as
    ``handler(event, context)`` returns a ``StreamingResponse`` instead. Sync or ``async def``.
    The function itself is returned unchanged, so it can still be called directly in tests.
    """
    try:
        setattr(handler, _MARK, True)
    except (AttributeError, TypeError):  # e.g. a bound method: mark a thin wrapper instead

        def wrapper(*args: Any) -> Any:
            return handler(*args)

        wrapper.__wrapped__ = handler  # type: ignore[attr-defined]
        setattr(wrapper, _MARK, True)
        return wrapper  # type: ignore[return-value]
    return handler


def is_streaming(handler: Callable[..., Any]) -> bool:
    return bool(getattr(handler, _MARK, False))


def takes_stream(handler: Callable[..., Any]) -> bool:
    """Whether to call ``handler(event, response_stream, context)`` or ``handler(event, context)``.

    Decided by the innermost function's positional parameters (following ``__wrapped__``, which
    functools.wraps sets), so decorators in between, such as Powertools', do not hide it.
    Without a plain function to look at, the documented three-argument form is assumed.
    """
    target: Any = handler
    for _ in range(100):
        inner = getattr(target, "__wrapped__", None)
        if inner is None:
            break
        target = inner
    skip = 0
    if hasattr(target, "__func__"):  # bound method: self is already given
        target, skip = target.__func__, 1
    code = getattr(target, "__code__", None)
    if code is None:
        # a callable instance, its __call__ maybe inherited (callable() would not give the code)
        call = getattr(type(target), "__call__", None)  # noqa: B004
        code, skip = getattr(call, "__code__", None), 1
    if code is None:
        return True
    positional: int = code.co_argcount
    return positional - skip != 2

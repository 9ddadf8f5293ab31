"""Finding the user's handler, and telling streaming handlers from buffered ones.

Import failures are reported with the stock client's error types and messages, so the console,
alarms and docs written for the managed runtime still describe what went wrong.
"""

from __future__ import annotations

import importlib
import sys

from lambda_streaming.runtime import errors
from lambda_streaming.runtime.errors import RuntimeFault

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
        call = type(target).__dict__.get("__call__")  # a callable instance
        code, skip = getattr(call, "__code__", None), 1
    if code is None:
        return True
    return code.co_argcount - skip != 2


def load_handler(name: str) -> Callable[..., Any]:
    """Import ``module.function`` as the stock client does (``/`` in the module path allowed)."""
    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as exc:
        raise RuntimeFault(errors.MALFORMED_HANDLER_NAME, f"Bad handler '{name}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise RuntimeFault(
            errors.BUILT_IN_MODULE_CONFLICT,
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise RuntimeFault(
            errors.IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise RuntimeFault(
            errors.USER_CODE_SYNTAX_ERROR,
            f"Syntax error in module '{module_name}': {exc}",
            trace,
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise RuntimeFault(
            errors.HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None

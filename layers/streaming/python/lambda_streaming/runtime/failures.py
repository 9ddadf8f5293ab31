"""A failure described and logged as the stock client does it.

Lambda, the console, X-Ray tooling and our own clients parse ``{"errorMessage", "errorType",
"requestId", "stackTrace"}`` as awslambdaric writes it, and read its ``[ERROR]`` log records;
we write exactly those, so replacing the stock client changes nothing for whoever reads errors.
Loaded with the first error: a function that never fails never compiles it.
"""

from __future__ import annotations

import json
import os
import time

from lambda_streaming.runtime import errors
from lambda_streaming.runtime.errors import RuntimeFault
from lambda_streaming.runtime.log_sinks import JSON_DATE_FORMAT, JSON_FRAMES, TEXT_FRAMES

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

    from lambda_streaming.runtime.interfaces import ErrorDocument
    from lambda_streaming.runtime.log_sinks import FramedSink, StdoutSink

# Logged before an init error, word for word as the stock client (awslambdaric lambda_literals),
# so alarms and Logs Insights queries written for the managed runtime still match.
UNHANDLED_AT_INIT_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function "
    "change, or can be applied automatically. To determine if the runtime has been updated, "
    "check the runtime version in the INIT_START log entry. If this error correlates with a "
    "change in the runtime version, you may be able to mitigate this error by temporarily "
    "rolling back to the previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_NBSP = "\u00a0"  # the stock client indents stack traces with it, so CloudWatch keeps the spaces


def handler_fault(name: str, step: str, exc: BaseException | None = None) -> RuntimeFault:
    """The stock client's fault for a handler that cannot be loaded, at ``step``: its
    ``name`` (no dot, or a built-in module's), ``import``, or the ``attribute`` lookup."""
    module_name, _, function_name = name.rpartition(".")
    if step == "name":
        if not module_name:
            message = "not enough values to unpack (expected 2, got 1)"  # as rsplit's unpacking
            return RuntimeFault(errors.MALFORMED_HANDLER_NAME, f"Bad handler '{name}': {message}")
        return RuntimeFault(
            errors.BUILT_IN_MODULE_CONFLICT,
            f"Cannot use built-in module {module_name} as a handler module",
        )
    if isinstance(exc, SyntaxError):
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        return RuntimeFault(
            errors.USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module_name}': {exc}", trace
        )
    if step == "import":
        return RuntimeFault(
            errors.IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}"
        )
    return RuntimeFault(
        errors.HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
    )


def make_error(
    message: str, error_type: str, stack_trace: list[str], request_id: str | None = None
) -> ErrorDocument:
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack_trace,
    }


def _user_frames(exc: BaseException) -> Any:
    import traceback  # costs milliseconds: loaded with the first failure, not at start-up

    frames = traceback.extract_tb(exc.__traceback__)
    # The user's stack starts at their handler: drop our leading frames, as awslambdaric drops
    # its bootstrap.py frames. Frames of ours that come later (called by the handler) stay.
    start = 0
    while start < len(frames) and os.path.abspath(frames[start].filename).startswith(_PACKAGE_DIR):
        start += 1
    if start == len(frames):
        start = 0
    return traceback.StackSummary.from_list(frames[start:])


def error_document(exc: BaseException, request_id: str | None = None) -> ErrorDocument:
    """Describe ``exc`` as the stock client would, hiding the runtime's own frames."""
    if isinstance(exc, RuntimeFault):
        return make_error(exc.message, exc.error_type, exc.stack_trace, request_id)
    return make_error(str(exc), type(exc).__name__, _user_frames(exc).format(), request_id)


def xray_cause(exc: BaseException) -> str:
    """The ``Lambda-Runtime-Function-XRay-Error-Cause`` the stock client sends with an error.

    X-Ray shows it as the fault's cause: ``{"working_directory", "exceptions": [{"message",
    "type", "stack": [{"label", "path", "line"}]}], "paths"}``; the runtime's own failures are
    ``LambdaValidationError`` with no stack, as in awslambdaric.
    """
    if isinstance(exc, RuntimeFault):
        error_type, message, stack = "LambdaValidationError", exc.message, []
    else:
        error_type, message = type(exc).__name__, str(exc)
        stack = [{"label": f.name, "path": f.filename, "line": f.lineno} for f in _user_frames(exc)]
    cause = {
        "working_directory": os.getcwd(),
        "exceptions": [{"message": message, "type": error_type, "stack": stack}],
        "paths": list(dict.fromkeys(frame["path"] for frame in stack)),
    }
    return json.dumps(cause)  # ASCII: it travels as a header value


def log_error(sink: StdoutSink | FramedSink, error: ErrorDocument, *, json_format: bool) -> None:
    if json_format:
        record = {
            "timestamp": time.strftime(JSON_DATE_FORMAT, time.gmtime()),
            "level": "ERROR",
            **error,
        }
        sink.log_error([json.dumps(record, ensure_ascii=False)], JSON_FRAMES[4])
        return
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        description += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in error.get("stackTrace") or []:
        if element == "":
            lines.append("")
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append(_NBSP * (len(line) - len(stripped)) + stripped)
    sink.log_error(lines, TEXT_FRAMES[4])

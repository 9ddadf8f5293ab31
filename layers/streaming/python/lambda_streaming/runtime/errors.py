"""Error documents in the stock runtime's shape.

Lambda, the console, X-Ray tooling and our own clients parse ``{"errorMessage", "errorType",
"requestId", "stackTrace"}`` as awslambdaric writes it; we write exactly that, so replacing the
stock client changes nothing for whoever reads errors.
"""

from __future__ import annotations

import os
import traceback

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

    ErrorDocument = dict[str, Any]

# The stock client's names for failures of its own making (awslambdaric lambda_runtime_exception).
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
MARSHAL_ERROR = "Runtime.MarshalError"
CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"
INVALID_CONFIGURATION = "Runtime.InvalidConfiguration"

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class RuntimeFault(Exception):
    """A failure the runtime reports under a ``Runtime.*`` type rather than the exception's name."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


def make_error(
    message: str, error_type: str, stack_trace: list[str], request_id: str | None = None
) -> ErrorDocument:
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack_trace,
    }


def error_document(exc: BaseException, request_id: str | None = None) -> ErrorDocument:
    """Describe ``exc`` as the stock client would, hiding the runtime's own frames."""
    if isinstance(exc, RuntimeFault):
        return make_error(exc.message, exc.error_type, exc.stack_trace, request_id)
    frames = traceback.extract_tb(exc.__traceback__)
    # The user's stack starts at their handler: drop our leading frames, as awslambdaric drops
    # its bootstrap.py frames. Frames of ours that come later (called by the handler) stay.
    start = 0
    while start < len(frames) and os.path.abspath(frames[start].filename).startswith(_PACKAGE_DIR):
        start += 1
    if start == len(frames):
        start = 0
    return make_error(
        str(exc), type(exc).__name__, traceback.format_list(frames[start:]), request_id
    )

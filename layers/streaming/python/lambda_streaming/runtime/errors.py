"""The runtime's own failures, under the stock client's ``Runtime.*`` error types.

Only the names and the exception live here, loaded with the first failure, as describing and
logging it (``failures``) is.
"""

from __future__ import annotations

# Where a failure's type travels: a header on init and restore errors, a trailer on a stream.
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"

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


class RuntimeFault(Exception):
    """A failure the runtime reports under a ``Runtime.*`` type rather than the exception's name."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []

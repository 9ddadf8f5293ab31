"""The context object, with every field of the stock ``LambdaContext``.

Libraries read these attributes directly (Powertools' ``inject_lambda_context`` builds its model
from them), so names and types match awslambdaric, including ``memory_limit_in_mb`` as a string.
"""

from __future__ import annotations

import json
import os
import time

from lambda_streaming.runtime import logs

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data or {}
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, data: dict[str, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, data.get(name))


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, data: dict[str, Any]) -> None:
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else None


class LambdaContext:
    def __init__(
        self,
        aws_request_id: str,
        deadline_ms: int,
        invoked_function_arn: str,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.aws_request_id = aws_request_id
        (
            self.log_group_name,
            self.log_stream_name,
            self.function_name,
            self.memory_limit_in_mb,
            self.function_version,
        ) = _FUNCTION_ENV or _function_env()
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        client_data = _parse_json_header(client_context, "Client Context")
        self._w3c: dict[str, str] = {}
        if isinstance(client_data, dict):
            w3c = client_data.pop("w3c", None)
            if isinstance(w3c, dict):
                keys = ("traceparent", "tracestate", "baggage")
                self._w3c = {k: w3c[k] for k in keys if isinstance(w3c.get(k), str)}
        self.client_context = ClientContext(client_data) if isinstance(client_data, dict) else None
        self.identity = CognitoIdentity(_parse_json_header(cognito_identity, "Cognito Identity"))
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def w3c(self) -> dict[str, str]:
        """The W3C trace context the caller passed in the client context."""
        return dict(self._w3c)

    def log(self, message: object) -> None:
        """Write to the function's log as the stock ``context.log`` does (no newline added)."""
        logs.log(str(message))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},identity={self.identity},"
            f"tenant_id={self.tenant_id}])"
        )


_FUNCTION_ENV: tuple[str | None, ...] = ()


def _function_env() -> tuple[str | None, ...]:
    """The function's fixed settings, read at the first invocation (after any SnapStart
    restore, whose log stream differs from the snapshot's) and kept for the process."""
    global _FUNCTION_ENV
    get = os.environ.get
    _FUNCTION_ENV = (
        get("AWS_LAMBDA_LOG_GROUP_NAME"),
        get("AWS_LAMBDA_LOG_STREAM_NAME"),
        get("AWS_LAMBDA_FUNCTION_NAME"),
        get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
        get("AWS_LAMBDA_FUNCTION_VERSION"),
    )
    return _FUNCTION_ENV


def _parse_json_header(value: str | None, name: str) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        from lambda_streaming.runtime.errors import CONTEXT_UNMARSHAL_ERROR, RuntimeFault

        raise RuntimeFault(CONTEXT_UNMARSHAL_ERROR, f"Unable to parse {name} JSON: {exc}") from None

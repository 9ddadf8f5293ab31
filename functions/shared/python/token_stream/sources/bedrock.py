"""Amazon Bedrock ``ConverseStream``: the model's text deltas as tokens.

boto3 is imported lazily, on the first request, and not declared anywhere: the managed
Python runtime ships it, so the layer stays standard-library-only for every function that
never sets MODEL_ID, and those do not pay boto3's import time at cold start.
Endpoint overrides use boto3's own ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` variable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from token_stream.prompt import PromptRequest
from token_stream.sources import SourceError

logger = logging.getLogger(__name__)

# Bedrock's stop reasons, in the vocabulary of messages.Done.reason.
_END_REASONS = {"end_turn": "complete", "stop_sequence": "complete", "max_tokens": "max_tokens"}

# Error codes Bedrock returns (as a ClientError before the stream, or an event-stream
# exception inside it), mapped to what a client may be told. Upstream messages can name
# accounts and ARNs, so they go to the log only.
_SAFE_ERRORS = {
    "ThrottlingException": ("model_busy", "The model is receiving too many requests; retry later."),
    "ServiceQuotaExceededException": ("model_busy", "The model quota is exhausted; retry later."),
    "ServiceUnavailableException": ("model_unavailable", "The model is unavailable; retry later."),
    "ModelNotReadyException": ("model_unavailable", "The model is not ready; retry later."),
    "ModelTimeoutException": ("model_timeout", "The model took too long to answer."),
    "AccessDeniedException": ("model_access_denied", "This function may not use the model."),
    "ResourceNotFoundException": ("model_not_found", "The configured model does not exist here."),
    "ValidationException": ("model_rejected_request", "The model rejected the request."),
    "ModelStreamErrorException": ("model_stream_error", "The model stopped in mid-answer."),
}
_DEFAULT_ERROR = ("model_error", "The model failed to answer.")

_client_lock = threading.Lock()
_shared_client: Any = None


def _default_client() -> Any:
    """One client per execution environment: creating it costs tens of milliseconds."""
    global _shared_client
    with _client_lock:
        if _shared_client is None:
            import boto3  # the managed runtime provides it; see the module docstring
            from botocore.config import Config

            _shared_client = boto3.client(
                "bedrock-runtime",
                config=Config(read_timeout=300, retries={"mode": "standard", "max_attempts": 3}),
            )
        return _shared_client


class BedrockSource:
    name = "bedrock"

    def __init__(
        self, model_id: str, *, system_prompt: str | None = None, client: Any = None
    ) -> None:
        self.model_id = model_id
        self.system_prompt = system_prompt
        self._client = client

    def tokens(self, request: PromptRequest, cancelled: threading.Event) -> Iterator[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client or _default_client()
        arguments: dict[str, Any] = {
            "modelId": self.model_id,
            "messages": [{"role": "user", "content": [{"text": request.prompt}]}],
            "inferenceConfig": {"maxTokens": request.max_tokens},
        }
        if self.system_prompt:
            arguments["system"] = [{"text": self.system_prompt}]
        stop_reason = None
        try:
            stream = client.converse_stream(**arguments)["stream"]
            try:
                for event in stream:
                    if cancelled.is_set():
                        return "cancelled"
                    delta = event.get("contentBlockDelta", {}).get("delta", {})
                    if "text" in delta:
                        yield delta["text"]
                    elif "messageStop" in event:
                        stop_reason = event["messageStop"].get("stopReason")
            finally:
                stream.close()
        except ClientError as error:  # EventStreamError, raised mid-stream, is one too
            raise _safe_error(error) from error
        except BotoCoreError as error:
            logger.error("Bedrock call failed: %s", error)
            raise SourceError("model_unreachable", "The model could not be reached.") from error
        return _END_REASONS.get(stop_reason or "end_turn", stop_reason)


def _safe_error(error: Any) -> SourceError:
    code = error.response.get("Error", {}).get("Code", "")
    logger.error("Bedrock returned %s: %s", code, error)
    # Event-stream exceptions arrive with a lower-camel code ("throttlingException").
    normalized = code[:1].upper() + code[1:]
    return SourceError(*_SAFE_ERRORS.get(normalized, _DEFAULT_ERROR))

"""Turn a Function URL (payload 2.0) or REST API (payload 1.0) event into a prompt request.

Everything a client can get wrong is caught here, before the first byte is streamed,
because once streaming starts the status code is already 200 and can no longer say "your
request was bad".

Accepted: ``GET ?prompt=...&max_tokens=...`` or ``POST`` with a JSON object body
``{"prompt": ..., "max_tokens": ...}`` (plain or base64-encoded, as Function URLs deliver
binary bodies, and REST APIs bodies of their binary media types). The front is read from the
event itself (``lambda_streaming.http.front``). ``token_delay_ms``, ``token_bytes`` and
``fail_after`` steer the built-in generator only, so latency comparisons, large exports and the
error path can be reproduced on demand.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambda_streaming.http.front import BadEvent, front_for
from lambda_streaming.http.request import Request

ALLOWED_METHODS = ("GET", "POST")
_DIGITS = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class Limits:
    max_prompt_chars: int = 4000
    default_max_tokens: int = 64
    max_tokens: int = 2048
    max_token_delay_ms: int = 10_000
    max_token_bytes: int = 65_536  # with max_tokens 2048: a 128 MiB export at most

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Limits:
        """Limits from PROMPT_MAX_CHARS, DEFAULT_MAX_TOKENS, MAX_TOKENS_LIMIT."""
        defaults = cls()
        return cls(
            max_prompt_chars=_env_int(environ, "PROMPT_MAX_CHARS", defaults.max_prompt_chars),
            default_max_tokens=_env_int(environ, "DEFAULT_MAX_TOKENS", defaults.default_max_tokens),
            max_tokens=_env_int(environ, "MAX_TOKENS_LIMIT", defaults.max_tokens),
        )


@dataclass(frozen=True, slots=True)
class PromptRequest:
    prompt: str
    max_tokens: int
    token_delay_ms: int | None = None  # built-in generator: pause before each token
    fail_after: int | None = None  # built-in generator: fail after this many tokens
    token_bytes: int | None = None  # built-in generator: each token exactly this long


class RequestError(Exception):
    """A request answered with a 4xx JSON error instead of a stream."""

    def __init__(self, status_code: int, code: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = {"Content-Type": "application/json", **headers}

    @property
    def body(self) -> bytes:
        return json.dumps({"error": {"code": self.code, "message": self.message}}).encode()

    @property
    def metadata(self) -> dict[str, Any]:
        """The response head, in the shape ``HttpResponseStream.from_`` takes."""
        return {"statusCode": self.status_code, "headers": dict(self.headers)}


def parse_request(event: Mapping[str, Any], limits: Limits | None = None) -> PromptRequest:
    """The request an event (2.0 or 1.0) asks for; raises RequestError if it is not valid.

    A query parameter given more than once counts with its last value, on either front.
    """
    limits = limits or Limits.from_env()
    request = _http_request(event)
    method = request.method
    if method not in ALLOWED_METHODS:
        raise RequestError(
            405,
            "method_not_allowed",
            f"Use GET or POST, not {method}.",
            Allow=", ".join(ALLOWED_METHODS),
        )
    fields: dict[str, Any] = dict(request.query)
    if method == "POST":
        fields.update(_json_body(request.body))

    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestError(
            400, "missing_prompt", 'Give a non-empty "prompt" (query parameter or JSON body).'
        )
    if len(prompt) > limits.max_prompt_chars:
        raise RequestError(
            413,
            "prompt_too_long",
            f"The prompt has {len(prompt)} characters; the limit is {limits.max_prompt_chars}.",
        )
    max_tokens = _integer(fields, "max_tokens", 1, limits.max_tokens)
    return PromptRequest(
        prompt=prompt,
        max_tokens=limits.default_max_tokens if max_tokens is None else max_tokens,
        token_delay_ms=_integer(fields, "token_delay_ms", 0, limits.max_token_delay_ms),
        fail_after=_integer(fields, "fail_after", 0, limits.max_tokens),
        token_bytes=_integer(fields, "token_bytes", 1, limits.max_token_bytes),
    )


def _http_request(event: Mapping[str, Any]) -> Request:
    try:
        front = front_for(event)
    except BadEvent:
        raise RequestError(
            400,
            "invalid_event",
            "Expected a Function URL event (payload format 2.0) with requestContext.http.method "
            "or an API Gateway REST event (payload format 1.0) with httpMethod.",
        ) from None
    try:
        return front.request(event)
    except ValueError:
        message = (
            "The body is not valid base64."
            if event.get("isBase64Encoded")
            else "The body is not a string."
        )
        raise RequestError(400, "invalid_body", message) from None


def _json_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(400, "invalid_body", "The body is not UTF-8 text.") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise RequestError(400, "invalid_json", f"The body is not valid JSON: {error}.") from None
    if not isinstance(document, dict):
        raise RequestError(400, "invalid_json", "The body must be a JSON object.")
    return document


def _integer(fields: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    """An optional integer field, given as a JSON number or a query-string digit string."""
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RequestError(
            400, f"invalid_{name}", f'"{name}" must be an integer from {low} to {high}.'
        )
    return value


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(environ[name])
    except (KeyError, ValueError):
        return default

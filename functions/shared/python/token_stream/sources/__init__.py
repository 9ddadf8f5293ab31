"""Where tokens come from: the built-in generator, or Amazon Bedrock when MODEL_ID is set.

A source is a blocking iterator of text chunks. The pipeline runs it on a worker thread
(so it can send heartbeats and meet the deadline while a source is silent) and passes it a
``threading.Event`` that is set when nobody wants more tokens; sources check it between
chunks. A source's generator may ``return`` an end reason (for example ``"max_tokens"``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from typing import Protocol

from token_stream.prompt import PromptRequest


class SourceError(Exception):
    """A failure whose code and message are safe to show to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Source(Protocol):
    name: str

    def tokens(self, request: PromptRequest, cancelled: threading.Event) -> Iterator[str]: ...


def source_from_env(environ: Mapping[str, str] = os.environ) -> Source:
    """Bedrock when MODEL_ID is set, otherwise the built-in generator."""
    model_id = environ.get("MODEL_ID", "").strip()
    if model_id:
        from token_stream.sources.bedrock import BedrockSource

        return BedrockSource(model_id, system_prompt=environ.get("SYSTEM_PROMPT") or None)
    from token_stream.sources.builtin import BuiltinSource

    return BuiltinSource.from_env(environ)

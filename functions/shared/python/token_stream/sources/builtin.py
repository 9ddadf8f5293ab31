"""A deterministic text generator: the default source wherever no model is configured.

Same request, same tokens, same pacing: latency comparisons between formats and invoke
modes then measure the transport, not a model's mood. Tokens are the text's words, or with
``token_bytes`` slices of that many bytes of it (repeated as needed): a large export, of
``max_tokens * token_bytes`` bytes of text, for measuring what a big response costs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from token_stream.prompt import PromptRequest
from token_stream.sources import SourceError

_TEXT = (
    "Streaming sends each token as soon as it exists, so the reader starts at once "
    "instead of waiting for the whole answer; buffering holds everything back until "
    "the last word is written."
)
_WORDS = _TEXT.split()


@dataclass(frozen=True, slots=True)
class BuiltinSource:
    token_delay_ms: int = 50
    name: str = "builtin"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> BuiltinSource:
        """Pacing from BUILTIN_TOKEN_DELAY_MS; a request's ``token_delay_ms`` overrides it."""
        try:
            return cls(token_delay_ms=max(0, int(environ["BUILTIN_TOKEN_DELAY_MS"])))
        except (KeyError, ValueError):
            return cls()

    def tokens(self, request: PromptRequest, cancelled: threading.Event) -> Iterator[str]:
        delay_ms = self.token_delay_ms if request.token_delay_ms is None else request.token_delay_ms
        for index in range(request.max_tokens):
            if request.fail_after is not None and index >= request.fail_after:
                raise SourceError(
                    "generator_failed",
                    f"The built-in generator stopped after {index} tokens, as requested.",
                )
            if cancelled.wait(delay_ms / 1000):
                return "cancelled"
            if request.token_bytes is not None:
                yield _slice(index, request.token_bytes)
                continue
            word = _WORDS[index % len(_WORDS)]
            yield word if index == 0 else " " + word
        return "complete"


_LOOP = _TEXT + " "  # ASCII: a slice of n characters is n bytes


def _slice(index: int, size: int) -> str:
    """Token ``index`` of ``size`` bytes: the text repeated, cut where the last one ended."""
    start = (index * size) % len(_LOOP)
    repeats = (start + size) // len(_LOOP) + 1
    return (_LOOP * repeats)[start : start + size]

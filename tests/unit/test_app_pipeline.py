"""The pipeline's promises: status first, heartbeats while silent, a clean end before the
deadline, an error message when the source fails, and the source stopped when nobody listens."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from token_stream.messages import Done, Error, Heartbeat, Status, Token
from token_stream.pipeline import Timing, generate
from token_stream.prompt import PromptRequest
from token_stream.sources import SourceError, source_from_env
from token_stream.sources.bedrock import BedrockSource
from token_stream.sources.builtin import BuiltinSource

REQUEST = PromptRequest("hi", max_tokens=4, token_delay_ms=0)
FAST = Timing(heartbeat_interval_s=0.05, deadline_margin_s=0.1)


@dataclass
class ScriptedSource:
    """Plays a script: strings are yielded, numbers are pauses, exceptions are raised."""

    script: list[object]
    name: str = "scripted"
    stopped: threading.Event = field(default_factory=threading.Event)

    def tokens(self, request: PromptRequest, cancelled: threading.Event) -> Iterator[str]:
        try:
            for step in self.script:
                if isinstance(step, str):
                    yield step
                elif isinstance(step, float):
                    if cancelled.wait(step):
                        return "cancelled"
                else:
                    raise step  # type: ignore[misc]
            return "max_tokens"
        finally:
            self.stopped.set()


@dataclass
class Deadline:
    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_status_tokens_done() -> None:
    messages = list(generate(ScriptedSource(["a", "", " b"]), REQUEST, timing=FAST))
    assert messages[0] == Status("started", "scripted")
    assert messages[1:3] == [Token("a", 0), Token(" b", 1)]  # empty chunks are dropped
    done = messages[3]
    assert isinstance(done, Done)
    assert (done.tokens, done.reason) == (2, "max_tokens")
    assert done.first_token_ms is not None and done.first_token_ms <= done.elapsed_ms
    assert len(messages) == 4


def test_heartbeats_while_the_source_is_silent() -> None:
    source = ScriptedSource(["a", 0.3, "b"])
    messages = list(generate(source, REQUEST, timing=FAST))
    kinds = [type(m).__name__ for m in messages]
    first, last = kinds.index("Token"), len(kinds) - 1 - kinds[::-1].index("Token")
    between = kinds[first + 1 : last]
    assert 2 <= between.count("Heartbeat") <= 7, kinds
    assert set(between) == {"Heartbeat"}


def test_no_heartbeats_when_turned_off() -> None:
    source = ScriptedSource([0.15, "a"])
    timing = Timing(heartbeat_interval_s=0, deadline_margin_s=0)
    assert not any(isinstance(m, Heartbeat) for m in generate(source, REQUEST, timing=timing))


def test_ends_cleanly_before_the_deadline_and_stops_the_source() -> None:
    source = ScriptedSource(["a", 30.0, "never"])
    started = time.monotonic()
    messages = list(generate(source, REQUEST, Deadline(400), FAST))
    took = time.monotonic() - started
    done = messages[-1]
    assert isinstance(done, Done) and done.reason == "deadline" and done.tokens == 1
    assert 0.25 <= took < 1.0  # 400 ms remaining minus the 100 ms margin
    assert Token("a", 0) in messages
    assert source.stopped.wait(1), "the source kept running after the deadline"


def test_deadline_already_passed() -> None:
    messages = list(generate(ScriptedSource(["a"]), REQUEST, Deadline(50), FAST))
    assert messages[0] == Status("started", "scripted")
    assert isinstance(messages[-1], Done) and messages[-1].reason == "deadline"


def test_source_failure_mid_stream_becomes_an_error_message() -> None:
    source = ScriptedSource(["a", "b", SourceError("model_busy", "Retry later.")])
    messages = list(generate(source, REQUEST, timing=FAST))
    assert messages[-2:] == [Error("model_busy", "Retry later."), messages[-1]]
    done = messages[-1]
    assert isinstance(done, Done) and (done.reason, done.tokens) == ("error", 2)


def test_unexpected_failure_hides_its_details() -> None:
    source = ScriptedSource(["a", RuntimeError("secret arn:aws:iam::123456789012:role/x")])
    messages = list(generate(source, REQUEST, timing=FAST))
    error = messages[-2]
    assert isinstance(error, Error) and error.code == "internal_error"
    assert "123456789012" not in error.message


def test_closing_early_cancels_the_source() -> None:
    source = ScriptedSource(["a", 30.0, "b"])
    stream = generate(source, REQUEST, timing=Timing(heartbeat_interval_s=0))
    assert next(stream) == Status("started", "scripted")
    assert next(stream) == Token("a", 0)
    stream.close()
    assert source.stopped.wait(1)


def test_builtin_is_deterministic_and_paced() -> None:
    request = PromptRequest("x", max_tokens=5, token_delay_ms=20)
    started = time.monotonic()
    first = list(generate(BuiltinSource(), request, timing=FAST))
    took = time.monotonic() - started
    second = list(generate(BuiltinSource(), request, timing=FAST))
    tokens = [m.text for m in first if isinstance(m, Token)]
    assert tokens == [m.text for m in second if isinstance(m, Token)]
    assert len(tokens) == 5 and tokens[0] == "Streaming" and tokens[1] == " sends"
    assert took >= 0.1
    assert first[-1].reason == "complete"  # type: ignore[union-attr]


def test_builtin_fail_after() -> None:
    request = PromptRequest("x", max_tokens=5, token_delay_ms=0, fail_after=2)
    messages = list(generate(BuiltinSource(), request, timing=FAST))
    assert [type(m).__name__ for m in messages] == ["Status", "Token", "Token", "Error", "Done"]


def test_source_from_env() -> None:
    builtin = source_from_env({"BUILTIN_TOKEN_DELAY_MS": "7"})
    assert isinstance(builtin, BuiltinSource) and builtin.token_delay_ms == 7
    bedrock = source_from_env({"MODEL_ID": "amazon.nova-micro-v1:0"})
    assert isinstance(bedrock, BedrockSource) and bedrock.model_id == "amazon.nova-micro-v1:0"


def test_timing_from_env() -> None:
    timing = Timing.from_env({"HEARTBEAT_INTERVAL_MS": "250", "DEADLINE_MARGIN_MS": "oops"})
    assert timing == Timing(heartbeat_interval_s=0.25, deadline_margin_s=Timing().deadline_margin_s)


def test_builtin_token_bytes_makes_a_large_export_of_exact_size() -> None:
    request = PromptRequest("x", max_tokens=300, token_delay_ms=0, token_bytes=1000)
    tokens = [
        m.text for m in generate(BuiltinSource(), request, timing=FAST) if isinstance(m, Token)
    ]
    assert len(tokens) == 300 and {len(token.encode()) for token in tokens} == {1000}
    text = "".join(tokens)
    loop = "Streaming sends each token as soon as it exists"
    assert text.startswith(loop) and text[len(text) // 2 :].count(loop) > 100  # the text, repeated

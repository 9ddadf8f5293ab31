"""The Bedrock source with a real botocore client against a local ConverseStream endpoint."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.support.app_bedrock import (
    FakeBedrock,
    HttpError,
    Pause,
    StreamException,
    WaitFor,
    fake_bedrock,
    text_reply,
)
from token_stream.messages import Done, Error, Status, Token
from token_stream.pipeline import Timing, generate
from token_stream.prompt import PromptRequest
from token_stream.sources import bedrock, source_from_env
from token_stream.sources.bedrock import BedrockSource

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
REQUEST = PromptRequest("Why stream?", max_tokens=50)
TIMING = Timing(heartbeat_interval_s=0, deadline_margin_s=0)


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with fake_bedrock() as server:
        yield server


def client(url: str) -> Any:  # botocore clients are typed at run time only
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=5),
    )


def run(fake: FakeBedrock, system_prompt: str | None = None) -> list[object]:
    source = BedrockSource(MODEL, system_prompt=system_prompt, client=client(fake.url))
    return list(generate(source, REQUEST, timing=TIMING))


def test_text_deltas_become_tokens(fake: FakeBedrock) -> None:
    fake.reply = text_reply("Because", " latency", " matters.")
    messages = run(fake, system_prompt="Be brief.")
    assert messages[0] == Status("started", "bedrock")
    assert messages[1:4] == [Token("Because", 0), Token(" latency", 1), Token(" matters.", 2)]
    assert isinstance(messages[4], Done) and messages[4].reason == "complete"

    (sent,) = fake.requests
    assert sent["path"] == f"/model/{MODEL}/converse-stream"
    assert sent["authorization"].startswith("AWS4-HMAC-SHA256")  # signed like the real thing
    assert sent["json"]["messages"] == [{"role": "user", "content": [{"text": "Why stream?"}]}]
    assert sent["json"]["inferenceConfig"] == {"maxTokens": 50}
    assert sent["json"]["system"] == [{"text": "Be brief."}]


def test_max_tokens_stop_reason(fake: FakeBedrock) -> None:
    fake.reply = text_reply("cut", stop_reason="max_tokens")
    done = run(fake)[-1]
    assert isinstance(done, Done) and (done.reason, done.tokens) == ("max_tokens", 1)


def test_first_token_arrives_while_the_model_is_still_writing(fake: FakeBedrock) -> None:
    release = threading.Event()
    reply = text_reply("first", "second")
    fake.reply = [*reply[:2], WaitFor(release), *reply[2:]]
    source = BedrockSource(MODEL, client=client(fake.url))
    stream = generate(source, REQUEST, timing=TIMING)
    assert next(stream) == Status("started", "bedrock")
    assert next(stream) == Token("first", 0)
    assert not fake.finished.is_set()
    release.set()
    assert [m for m in stream if isinstance(m, Token)] == [Token("second", 1)]


def test_exception_mid_stream_is_a_safe_error(fake: FakeBedrock) -> None:
    fake.reply = [
        *text_reply("partial")[:2],
        Pause(0.01),
        StreamException("throttlingException", "Too many tokens for account 123456789012"),
    ]
    messages = run(fake)
    assert Token("partial", 0) in messages
    error, done = messages[-2:]
    assert error == Error("model_busy", "The model is receiving too many requests; retry later.")
    assert isinstance(done, Done) and (done.reason, done.tokens) == ("error", 1)


def test_model_stream_error(fake: FakeBedrock) -> None:
    fake.reply = [StreamException("modelStreamErrorException", "boom")]
    assert run(fake)[-2] == Error("model_stream_error", "The model stopped in mid-answer.")


def test_refused_before_the_stream(fake: FakeBedrock) -> None:
    fake.reply = HttpError(403, "AccessDeniedException", "User arn:aws:sts::123456789012 denied")
    error = run(fake)[-2]
    assert error == Error("model_access_denied", "This function may not use the model.")


def test_unreachable_endpoint() -> None:
    with fake_bedrock() as gone:
        url = gone.url
    source = BedrockSource(MODEL, client=client(url))
    error = list(generate(source, REQUEST, timing=TIMING))[-2]
    assert isinstance(error, Error) and error.code == "model_unreachable"


def test_model_id_and_endpoint_from_the_environment(
    fake: FakeBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deployed path: MODEL_ID selects Bedrock; boto3's own variable redirects it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
    monkeypatch.setattr(bedrock, "_shared_client", None)
    fake.reply = text_reply("from", " env")
    source = source_from_env({"MODEL_ID": MODEL})
    tokens = [m for m in generate(source, REQUEST, timing=TIMING) if isinstance(m, Token)]
    assert [t.text for t in tokens] == ["from", " env"]
    monkeypatch.setattr(bedrock, "_shared_client", None)

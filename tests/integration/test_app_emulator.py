"""Each function through the local emulator (real runtime, real sockets), read back with real
clients: sseclient-py for SSE, json per line for NDJSON, plain bytes for raw text.

Requests are SigV4-signed because the template's default is an AWS_IAM Function URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support.app_decode import MEDIA_TYPES, decode
from tests.support.app_emulator import Reply, call, emulator

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {"raw_text": "RawTextFunction", "sse": "SseFunction", "jsonl": "JsonlFunction"}
WORDS = ["Streaming", "sends", "each", "token", "as", "soon", "as", "it", "exists,"]
# Marks the arrival of the first and the last token in each format's bytes.
FIRST = {"raw_text": b"Streaming", "sse": b"id: 0\n", "jsonl": b'"index":0}'}


def last_marker(function: str, count: int) -> bytes:
    return {
        "raw_text": WORDS[count - 1].encode(),
        "sse": b"id: %d\n" % (count - 1),
        "jsonl": b'"index":%d}' % (count - 1),
    }[function]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with emulator(ROOT / "template.yaml", DeployBufferedTwins="true") as url:
        yield url


def get(base_url: str, function: str, **query: object) -> Reply:
    return call("GET", f"{base_url}/{FUNCTIONS[function]}/?{urlencode(query)}")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_tokens_stream_in_order_and_first_long_before_last(base_url: str, function: str) -> None:
    count, delay_ms = 6, 120
    reply = get(base_url, function, prompt="Why stream?", max_tokens=count, token_delay_ms=delay_ms)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == MEDIA_TYPES[function]
    assert reply.headers["Cache-Control"] == "no-cache"
    outcome = decode(function, [data for _, data in reply.chunks])
    assert outcome.tokens == [WORDS[0]] + [" " + w for w in WORDS[1:count]]
    if function != "raw_text":
        assert outcome.kinds == ["status"] + [outcome.kinds[1]] * count + ["done"]
        assert outcome.status == {
            **({"type": "status"} if function == "jsonl" else {}),
            "state": "started",
            "source": "builtin",
        }
        assert outcome.done is not None
        assert (outcome.done["reason"], outcome.done["tokens"]) == ("complete", count)
        assert outcome.done["first_token_ms"] < outcome.done["elapsed_ms"]
    # Streaming, not buffering: the first token reached the client while the function was
    # still generating the others (5 more pauses of 120 ms).
    first, last = reply.arrival(FIRST[function]), reply.arrival(last_marker(function, count))
    assert last - first >= 0.7 * (count - 1) * delay_ms / 1000, reply.chunks


def test_sse_post_json_body(base_url: str) -> None:
    body = json.dumps({"prompt": "Hi", "max_tokens": 3, "token_delay_ms": 0}).encode()
    reply = call("POST", f"{base_url}/SseFunction/", body, **{"content-type": "application/json"})
    outcome = decode("sse", [reply.body])
    assert len(outcome.tokens) == 3 and outcome.done is not None


@pytest.mark.parametrize("function", FUNCTIONS)
def test_error_mid_stream_is_told_in_band(base_url: str, function: str) -> None:
    reply = get(base_url, function, prompt="x", max_tokens=8, token_delay_ms=10, fail_after=3)
    assert reply.status == 200  # the status was sent with the first byte
    outcome = decode(function, [reply.body])
    assert len(outcome.tokens) == 3
    assert outcome.error is not None and outcome.error["code"] == "generator_failed"
    if function != "raw_text":
        assert outcome.kinds[-2:] == ["error", "done"]
        assert outcome.done is not None and outcome.done["reason"] == "error"
        assert "Traceback" not in reply.body.decode()


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize(
    ("method", "target", "body", "status", "code"),
    [
        ("POST", "", b'{"prompt": ', 400, "invalid_json"),
        ("GET", "?max_tokens=3", None, 400, "missing_prompt"),
        ("GET", "?prompt=x&max_tokens=0", None, 400, "invalid_max_tokens"),
        ("POST", "", json.dumps({"prompt": "x" * 4001}).encode(), 413, "prompt_too_long"),
        ("PUT", "?prompt=x", None, 405, "method_not_allowed"),
    ],
)
def test_bad_input_is_answered_before_streaming(
    base_url: str,
    function: str,
    method: str,
    target: str,
    body: bytes | None,
    status: int,
    code: str,
) -> None:
    reply = call(method, f"{base_url}/{FUNCTIONS[function]}/{target}", body)
    assert reply.status == status
    assert reply.headers["Content-Type"] == "application/json"
    assert json.loads(reply.body)["error"]["code"] == code


def test_buffered_twin_sends_everything_at_the_end(base_url: str) -> None:
    query = "prompt=x&max_tokens=4&token_delay_ms=100"
    reply = call("GET", f"{base_url}/BufferedJsonlFunction/?{query}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in reply.body.decode().splitlines()]
    assert [line["type"] for line in lines] == ["status"] + ["token"] * 4 + ["done"]
    # Generating took 4 x 100 ms; the client got nothing until all of it was done.
    assert reply.arrival(b'"type":"done"') - reply.arrival(b'"type":"status"') < 0.1


@pytest.fixture(scope="module")
def short_timeout_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same template with a 3 s Timeout and 200 ms heartbeats, to reach the deadline fast."""
    text = (ROOT / "template.yaml").read_text()
    text = text.replace("CodeUri: functions/", f"CodeUri: {ROOT}/functions/")
    text = text.replace("ContentUri: layers/", f"ContentUri: {ROOT}/layers/")
    text = text.replace("ContentUri: functions/", f"ContentUri: {ROOT}/functions/")
    text = re.sub(r"(?m)^    Timeout: \d+$", "    Timeout: 3", text)
    text = text.replace('HEARTBEAT_INTERVAL_MS: "15000"', 'HEARTBEAT_INTERVAL_MS: "200"')
    assert text.count(str(ROOT)) == 8 and "Timeout: 3" in text and '"200"' in text
    template = tmp_path_factory.mktemp("short-timeout") / "template.yaml"
    template.write_text(text)
    with emulator(template) as url:
        yield url


@pytest.mark.parametrize("function", ["sse", "jsonl", "raw_text"])
def test_deadline_ends_the_stream_cleanly_with_heartbeats(
    short_timeout_url: str, function: str
) -> None:
    # 700 ms per token: 3 s timeout minus the 1.5 s margin leaves time for 2 tokens.
    reply = get(short_timeout_url, function, prompt="x", max_tokens=20, token_delay_ms=700)
    assert reply.status == 200
    outcome = decode(function, [reply.body])
    assert 1 <= len(outcome.tokens) <= 3
    if function == "raw_text":
        assert reply.body.endswith(b"[stopped: the function reached its time limit]\n")
        return
    assert outcome.done is not None and outcome.done["reason"] == "deadline"
    assert 1300 <= outcome.done["elapsed_ms"] <= 2500
    heartbeat = b": keep-alive\n\n" if function == "sse" else b'{"type":"heartbeat"}\n'
    assert reply.body.count(heartbeat) >= 2

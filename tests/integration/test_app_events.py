"""Every sample event under events/ gives the result events/README.md documents.

Each runs through the real runtime (stream-bootstrap) as ``sam local invoke`` runs it: with
``AWS_SAM_LOCAL=true``, so the runtime buffers and returns one response object: a Function URL
one for the 2.0 events, a REST proxy result for the 1.0 (``rest-``) ones.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import pytest

from tests.support.app_decode import MEDIA_TYPES, decode
from tests.support.app_runtime import ROOT, running_function

EVENTS = ROOT / "events"
FUNCTIONS = ("raw_text", "sse", "jsonl")
_ROW = re.compile(r"^\| `(?P<file>[\w-]+\.json)` \| .* \| (?P<status>\d{3}) \| (?P<result>.+) \|$")


def documented() -> dict[str, tuple[int, str]]:
    rows = {}
    for line in (EVENTS / "README.md").read_text().splitlines():
        if match := _ROW.match(line):
            rows[match["file"]] = (int(match["status"]), match["result"])
    return rows


def test_every_event_file_is_documented() -> None:
    rows = documented()
    assert len(rows) >= 18
    for function in FUNCTIONS:
        assert sorted(p.name for p in (EVENTS / function).glob("*.json")) == sorted(rows)


REST_RESULT_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


def check(function: str, name: str, response: dict[str, Any], status: int, result: str) -> None:
    where = f"{function}/{name}"
    if name.startswith("rest-"):
        # API Gateway answers 502 for any other field (cookies included).
        assert set(response) <= REST_RESULT_KEYS, where
    assert response["statusCode"] == status, where
    body = response["body"]
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    if status != 200:
        assert response["headers"]["Content-Type"] == "application/json", where
        (code,) = re.findall(r"`(\w+)`", result)
        assert json.loads(raw)["error"]["code"] == code, where
        return
    headers = response["headers"]
    assert headers["Content-Type"] == MEDIA_TYPES[function], where
    assert headers["Cache-Control"] == "no-cache", where
    outcome = decode(function, [raw])
    if failed := re.match(r"`error: (\w+)` after (\d+) tokens", result):
        assert outcome.error is not None and outcome.error["code"] == failed[1], where
        assert len(outcome.tokens) == int(failed[2]), where
        expected_reason = "error"
    else:
        complete = re.match(r"`done: (\w+)`, (\d+) tokens", result)
        assert complete, f"unreadable README row for {name}: {result}"
        assert outcome.error is None, where
        assert len(outcome.tokens) == int(complete[2]), where
        expected_reason = complete[1]
    if function != "raw_text":  # raw text has no room for a summary
        assert outcome.kinds[0] == "status" and outcome.kinds[-1] == "done", where
        assert outcome.done is not None and outcome.done["reason"] == expected_reason, where
        assert outcome.done["tokens"] == len(outcome.tokens), where


@pytest.mark.parametrize("function", FUNCTIONS)
def test_sample_events_under_sam_local(function: str) -> None:
    rows = documented()

    async def run_all() -> None:
        environment = {
            "AWS_SAM_LOCAL": "true",
            "STREAM_INVOKE_MODE": "RESPONSE_STREAM",  # as deployed; AWS_SAM_LOCAL still buffers
            "BUILTIN_TOKEN_DELAY_MS": "0",
        }
        async with running_function(function, environment) as running:
            for name, (status, result) in sorted(rows.items()):
                payload = (EVENTS / function / name).read_bytes()
                outcome = await running.invoke(payload)
                assert outcome.error is None, (name, outcome.error, running.logs())
                assert outcome.head is not None and not outcome.head.streaming, name
                check(function, name, json.loads(outcome.body), status, result)

    asyncio.run(run_all())


def test_events_are_payload_2_0() -> None:
    for path in sorted(EVENTS.glob("*/*.json")):
        if path.name.startswith("rest-"):
            continue
        event = json.loads(path.read_text())
        assert event["version"] == "2.0", path
        assert event["requestContext"]["http"]["method"], path
        assert isinstance(event["isBase64Encoded"], bool), path


REST_EVENT_KEYS = {
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
}


def test_rest_events_are_payload_1_0_for_each_2_0_one() -> None:
    """Same request as the 2.0 twin, in API Gateway's REST proxy shape."""
    for path in sorted(EVENTS.glob("*/rest-*.json")):
        event = json.loads(path.read_text())
        twin = json.loads(path.with_name(path.name.removeprefix("rest-")).read_text())
        assert set(event) == REST_EVENT_KEYS, path
        assert "version" not in event, path
        assert event["httpMethod"] == twin["requestContext"]["http"]["method"], path
        context = event["requestContext"]
        assert context["stage"] == "prod" and context["path"] == "/prod" + event["path"], path
        assert context["resourcePath"] == event["resource"], path
        assert context["identity"]["sourceIp"], path
        assert event["queryStringParameters"] == twin.get("queryStringParameters"), path
        for name, values in (event["multiValueHeaders"] or {}).items():
            assert event["headers"][name] == values[-1], path
        if twin.get("body"):
            raw = (
                base64.b64decode(twin["body"]) if twin["isBase64Encoded"] else twin["body"].encode()
            )
            got = event["body"]
            assert (base64.b64decode(got) if event["isBase64Encoded"] else got.encode()) == raw
        else:
            assert event["body"] is None and event["isBase64Encoded"] is False, path

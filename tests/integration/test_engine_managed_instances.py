"""Lambda Managed Instances through the emulator: a function with ``CapacityProviderConfig``
(``PerExecutionEnvironmentMaxConcurrency: 4``) runs one environment whose runtime forks four
workers, answers four concurrent one-second streams at once from that one environment, starts
another past four, and logs each request's records with its own request id."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from streamlab.emulator.engine import Engine
from streamlab.emulator.logs import LambdaLog
from streamlab.emulator.server import EmulatorServer
from tests.support.front_server import serving_engine

TEMPLATE = Path(__file__).resolve().parents[1] / "fixtures" / "managed_app" / "template.yaml"
PARTS = 5  # of 0.2 s each: one second per request


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[EmulatorServer, Engine, io.StringIO]]:
    log = io.StringIO()
    engine = Engine.from_template(TEMPLATE, log=LambdaLog(log))
    with serving_engine(engine, auth=False) as server:
        warm = requests.get(f"{server.base_url}/ManagedFunction/?tag=warm", timeout=30)
        assert warm.status_code == 200, warm.text  # the cold start out of the timings
        yield server, engine, log


def concurrently(
    server: EmulatorServer, tags: list[str], function: str = "ManagedFunction", query: str = ""
) -> tuple[float, dict[str, tuple[str, str]]]:
    """GETs with these tags at once: the time until all are done, and each (request id, body)."""
    results: dict[str, tuple[str, str]] = {}

    def get(tag: str) -> None:
        url = f"{server.base_url}/{function}/?tag={tag}{query}"
        response = requests.get(url, timeout=30)
        results[tag] = (response.headers["x-amzn-RequestId"], response.text)

    threads = [threading.Thread(target=get, args=(tag,)) for tag in tags]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started, results


def worker_of(tag: str, body: str, parts: int = PARTS) -> tuple[int, int]:
    """The (pid, parent pid) that served it, the body checked byte for byte."""
    first, _, rest = body.partition("\n")
    match = re.fullmatch(r"worker (\d+) of (\d+)", first)
    assert match, body
    assert rest == "".join(f"part {index} of {tag}\n" for index in range(parts))
    return int(match[1]), int(match[2])


def test_four_requests_at_once_in_one_environment(
    served: tuple[EmulatorServer, Engine, io.StringIO],
) -> None:
    server, engine, log = served
    tags = [f"four-{n}" for n in range(4)]
    elapsed, results = concurrently(server, tags)
    workers = [worker_of(tag, results[tag][1]) for tag in tags]
    assert len({pid for pid, _ in workers}) == 4  # four workers ...
    assert len({parent for _, parent in workers}) == 1  # ... of one runtime process
    assert len(engine.environments("ManagedFunction")) == 1
    assert 0.95 <= elapsed < 1.8, elapsed  # not four seconds one after another

    lines = log.getvalue().splitlines()
    for tag in tags:
        request_id = results[tag][0]
        start = lines.index(f"[ManagedFunction] START RequestId: {request_id} Version: $LATEST")
        end = lines.index(f"[ManagedFunction] END RequestId: {request_id}")
        records = [
            json.loads(line.removeprefix("[ManagedFunction] "))
            for line in lines[start:end]
            if line.startswith("[ManagedFunction] {")
        ]
        mine = [record for record in records if record["message"].endswith(f" {tag}")]
        assert [record["message"] for record in mine] == [f"handling {tag}", f"done {tag}"]
        assert {record["requestId"] for record in mine} == {request_id}


def test_past_its_concurrency_another_environment_starts(
    served: tuple[EmulatorServer, Engine, io.StringIO],
) -> None:
    server, engine, _ = served
    tags = [f"five-{n}" for n in range(5)]
    _, results = concurrently(server, tags)
    parents = [worker_of(tag, results[tag][1])[1] for tag in tags]
    assert sorted(parents.count(parent) for parent in set(parents)) == [1, 4]
    assert len(engine.environments("ManagedFunction")) == 2


def test_a_timeout_fails_one_invocation_and_keeps_the_environment(
    served: tuple[EmulatorServer, Engine, io.StringIO],
) -> None:
    """Lambda does not kill a Managed Instances worker that timed out (Timeout: 1 here): the
    invocation beside it goes on, and the worker's slot is free again once it has answered."""
    server, engine, log = served
    url = f"{server.base_url}/ManagedTimeoutFunction/"
    late: list[bytes] = []

    def too_slow() -> None:  # its first line at once, then 1.6 s of silence
        with (
            pytest.raises(requests.exceptions.ChunkedEncodingError),
            requests.get(f"{url}?tag=late&parts=1&pause=1.6", stream=True, timeout=10) as response,
        ):
            late.extend(response.iter_content(chunk_size=None))

    began = time.monotonic()
    thread = threading.Thread(target=too_slow)
    thread.start()
    time.sleep(0.3)
    quick = requests.get(f"{url}?tag=quick&parts=1&pause=0.1", timeout=10)
    thread.join()
    assert "Sandbox.Timedout" in log.getvalue()
    parent = worker_of("late", b"".join(late).decode(), parts=0)[1]  # cut after its first line
    assert worker_of("quick", quick.text, parts=1)[1] == parent  # served beside it

    time.sleep(max(0.0, began + 1.9 - time.monotonic()))  # the late worker has answered
    _, results = concurrently(server, ["after-0", "after-1"], "ManagedTimeoutFunction", "&parts=1")
    assert {worker_of(tag, body, parts=1)[1] for tag, (_, body) in results.items()} == {parent}
    assert len(engine.environments("ManagedTimeoutFunction")) == 1

"""The layer under AWS's own Runtime Interface Emulator (the binary inside SAM CLI's package).

Classic mode (what ``sam local invoke`` runs) with ``stream-bootstrap`` as the bootstrap: the
streamed POST is accepted and the RIE answers with the prelude, its 8 NULs and the body; with
``AWS_SAM_LOCAL=true`` every file in ``events/`` gives what ``events/README.md`` promises.

Managed Instances mode (``AWS_LAMBDA_MAX_CONCURRENCY``) runs AWS's newer code path, which only
starts ``/var/runtime/bootstrap``, ``/var/task/bootstrap`` or ``/opt/bootstrap`` and runs it as
a sandbox user. As root, a private mount namespace (``unshare -m``) puts temporary directories
over ``/opt`` (the layer, as Lambda mounts it) and ``/var`` (``task/`` and a ``runtime/bootstrap``
doing what Lambda's does with ``AWS_LAMBDA_EXEC_WRAPPER``) for the RIE alone; elsewhere the
test is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.integration.test_app_events import EVENTS, FUNCTIONS, check, documented
from tests.support.layer_process import HANDLERS, LAMBDA_ENV, ROOT, STREAM_BOOTSTRAP

LAYER = ROOT / "layers" / "streaming"
NULS = b"\x00" * 8
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def rie_binary() -> Path:
    samcli = pytest.importorskip("samcli")
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), ""
    )
    binary = Path(samcli.__file__).parent / "local" / "rapid" / f"aws-lambda-rie-{arch}"
    if not binary.is_file():
        pytest.skip(f"SAM CLI ships no Runtime Interface Emulator for {platform.machine()}")
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "LAMBDA_", "_HANDLER", "_X_AMZN", "PYTEST", "STREAM_"))
        and k != "PYTHONPATH"
    }
    env.update(LAMBDA_ENV)
    env.update({"AWS_LAMBDA_FUNCTION_TIMEOUT": "30", **extra})
    return env


def classic_command(port: int) -> list[str]:
    """The RIE in classic mode (what ``sam local invoke`` runs) with our wrapper as bootstrap,
    invoked on ``port``."""
    return [
        str(rie_binary()),
        "--runtime-interface-emulator-address",
        f"127.0.0.1:{port}",
        "--runtime-api-address",
        f"127.0.0.1:{free_port()}",
        str(STREAM_BOOTSTRAP),
        sys.executable,
        "/var/runtime/bootstrap.py",
    ]


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()  # the RIE stops its runtime processes itself
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def invoke(port: int, event: object, timeout: float = 30) -> requests.Response:
    """One invocation; retried while the RIE is starting or has no idle runtime."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = requests.post(
                f"http://127.0.0.1:{port}{INVOKE_PATH}", json=event, timeout=timeout
            )
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
            continue
        if b"Runtime.Unavailable" in response.content and time.monotonic() < deadline:
            time.sleep(0.01)  # every runtime busy: Managed Instances mode does not queue
            continue
        return response


def test_classic_mode_accepts_the_stream_and_returns_prelude_and_body(tmp_path: Path) -> None:
    port = free_port()
    command = classic_command(port)
    env = clean_env(_HANDLER="streaming.http", LAMBDA_TASK_ROOT=str(HANDLERS))
    with running(command, env, tmp_path / "rie.log"):
        response = invoke(port, {})
    assert response.status_code == 200, response.content
    prelude = (
        b'{"statusCode":201,"headers":{"X-Test":"yes","Content-Type":"text/plain; charset=utf-8"},'
        b'"cookies":["a=1; Path=/"]}'
    )
    assert response.content == prelude + NULS + b"hello world"


def test_classic_mode_serves_every_ending_from_one_runtime(tmp_path: Path) -> None:
    """The runtime asks for ``next`` behind each result (HTTP/1.1 pipelining): AWS's Runtime API
    must answer after a streamed body, an ``/error`` and error trailers alike, and the same
    process must serve every invocation."""
    port = free_port()
    command = classic_command(port)
    env = clean_env(_HANDLER="streaming.as_asked", LAMBDA_TASK_ROOT=str(HANDLERS))
    events = [{"n": 1}, {"n": 2, "fail": "before"}, {"n": 3}, {"n": 4, "fail": "after"}, {"n": 5}]
    with running(command, env, tmp_path / "rie.log"):
        answers = [invoke(port, event, timeout=10) for event in events]
    assert all(answer.status_code == 200 for answer in answers)
    assert answers[1].json()["errorType"] == "ValueError"
    # the RIE keeps the bytes before an error in the trailers (a caller of AWS sees them too)
    bodies = [answers[i].content.decode() for i in (0, 2, 3, 4)]
    assert [body.split(":")[0] for body in bodies] == ["1", "3", "4", "5"]
    assert len({body.split(":")[1] for body in bodies}) == 1  # one runtime process


def test_classic_mode_reports_an_error_exactly_as_for_the_stock_client(tmp_path: Path) -> None:
    pytest.importorskip("awslambdaric")
    rie = rie_binary()
    answers = {}
    starts = {
        "ours": [str(STREAM_BOOTSTRAP), sys.executable, "/var/runtime/bootstrap.py"],
        "stock": [sys.executable, "-m", "awslambdaric", "buffered.fail"],
    }
    for kind, start in starts.items():
        port = free_port()
        command = [
            str(rie),
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{port}",
            "--runtime-api-address",
            f"127.0.0.1:{free_port()}",
            *start,
        ]
        env = clean_env(
            _HANDLER="buffered.fail", LAMBDA_TASK_ROOT=str(HANDLERS), PYTHONPATH=str(HANDLERS)
        )
        with running(command, env, tmp_path / f"rie-{kind}.log"):
            response = invoke(port, {})
        document = response.json()
        document.pop("requestId")
        headers = {k: v for k, v in response.headers.items() if k.lower() != "date"}
        answers[kind] = (response.status_code, headers, document)
    assert answers["ours"] == answers["stock"]
    assert answers["ours"][2]["errorType"] == "KeyError"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_sample_events_under_the_rie_as_sam_local_runs_them(function: str, tmp_path: Path) -> None:
    """What ``sam local invoke`` prints for each file in events/: the README's promises."""
    port = free_port()
    command = classic_command(port)
    env = clean_env(
        _HANDLER="app.handler",
        LAMBDA_TASK_ROOT=str(ROOT / "functions" / function),
        PYTHONPATH=str(ROOT / "functions" / "shared" / "python"),  # the app layer's code
        AWS_SAM_LOCAL="true",
        STREAM_INVOKE_MODE="RESPONSE_STREAM",  # as deployed; AWS_SAM_LOCAL still buffers
        BUILTIN_TOKEN_DELAY_MS="0",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_SERVICE_NAME=function,
    )
    log = tmp_path / "rie.log"
    with running(command, env, log):
        for name, (status, result) in sorted(documented().items()):
            event = json.loads((EVENTS / function / name).read_bytes())
            response = invoke(port, event)
            assert response.status_code == 200, (name, response.content, log.read_text())
            check(function, name, response.json(), status, result)


# --- Managed Instances mode -------------------------------------------------------------------

_BOOTSTRAP = """#!/bin/sh
# What Lambda's /var/runtime/bootstrap does with AWS_LAMBDA_EXEC_WRAPPER, with the first Python
# (3.11+) the RIE's sandbox user may run; its choice is noted for the test.
for python in {candidates}; do
  if [ -x "$python" ] && "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "$python" > /var/log/python
    exec "$AWS_LAMBDA_EXEC_WRAPPER" "$python" /var/runtime/bootstrap.py
  fi
done
echo none > /var/log/python
exit 127
"""


def namespace_or_skip() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Managed Instances mode needs Linux mount namespaces")
    if os.geteuid() != 0:
        pytest.skip("Managed Instances mode needs root: the RIE starts only /var and /opt paths")
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to make a private mount namespace")
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "mount", "--bind", "/tmp", "/opt"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot make a private mount namespace here: {probe.stderr.strip()}")


def python_candidates() -> list[str]:
    found = [sys.executable, os.path.realpath(sys.executable)]
    found += [shutil.which(n) or "" for n in ("python3.13", "python3.12", "python3.11")]
    found += ["/usr/bin/python3", "/usr/local/bin/python3"]
    return [p for p in dict.fromkeys(found) if p and " " not in p]


def sandbox_tree(tmp_path: Path) -> tuple[Path, Path]:
    """``opt/`` (the layer plus nothing else) and ``var/`` (task/, runtime/, log/)."""
    opt, var = tmp_path / "opt", tmp_path / "var"
    opt.mkdir()
    shutil.copy2(LAYER / "stream-bootstrap", opt / "stream-bootstrap")
    shutil.copytree(LAYER / "python", opt / "python", ignore=shutil.ignore_patterns("__pycache__"))
    (var / "task").mkdir(parents=True)
    shutil.copy2(HANDLERS / "workers_app.py", var / "task" / "workers_app.py")
    (var / "runtime").mkdir()
    bootstrap = var / "runtime" / "bootstrap"
    bootstrap.write_text(_BOOTSTRAP.format(candidates=" ".join(python_candidates())))
    (var / "log").mkdir()
    os.chmod(var / "log", 0o777)  # the sandbox user notes its interpreter there
    for path in (tmp_path, *tmp_path.rglob("*")):
        mode = 0o777 if path == var / "log" else (0o755 if path.is_dir() else 0o644)
        if path == bootstrap or path.name == "stream-bootstrap":
            mode = 0o755
        os.chmod(path, mode)
    return opt, var


def expected(tag: str, pid: str) -> bytes:
    prelude = b'{"statusCode":200,"headers":{"X-Pid":"%s","Content-Type":"text/plain"}}' % (
        pid.encode()
    )
    return prelude + NULS + b"".join(f"{tag}:{i}:{'x' * i}\n".encode() for i in range(4))


def test_managed_instances_mode_runs_four_streams_at_once(tmp_path: Path) -> None:
    rie = rie_binary()
    namespace_or_skip()
    opt, var = sandbox_tree(tmp_path)
    port = free_port()
    script = (
        f"mount --bind {opt} /opt && mount --bind {var} /var && exec {rie} "
        f"--runtime-interface-emulator-address 127.0.0.1:{port} "
        f"--runtime-api-address 127.0.0.1:{free_port()}"
    )
    env = clean_env(
        AWS_LAMBDA_MAX_CONCURRENCY="4",
        AWS_LAMBDA_EXEC_WRAPPER="/opt/stream-bootstrap",
        _HANDLER="workers_app.handler",
    )
    log = tmp_path / "rie.log"
    with running(["unshare", "-m", "--propagation", "private", "sh", "-c", script], env, log):
        noted = var / "log" / "python"
        deadline = time.monotonic() + 15
        while not noted.exists() or not noted.read_text().strip():
            assert time.monotonic() < deadline, f"the bootstrap never ran: {log.read_text()}"
            time.sleep(0.05)
        if noted.read_text().strip() == "none":
            pytest.skip("no Python 3.11+ that the RIE's sandbox user may run")
        warm = invoke(port, {"tag": "warm", "interval": 0})
        assert warm.status_code == 200, (warm.content, log.read_text())
        assert warm.content.endswith(b"warm:3:xxx\n")
        time.sleep(0.3)  # let every worker reach /next

        def two_in_a_row(slot: int) -> list[tuple[str, float, float, requests.Response]]:
            done = []
            for round_ in range(2):
                tag = f"s{slot}r{round_}"
                began = time.monotonic()
                response = invoke(port, {"tag": tag})
                done.append((tag, began, time.monotonic(), response))
            return done

        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            results = [item for batch in pool.map(two_in_a_row, range(4)) for item in batch]
        elapsed = time.monotonic() - started
    print(f"RIE Managed Instances mode, N=4: 8 one-second streams in {elapsed:.2f} s")  # -s
    assert len(results) == 8
    assert 1.9 < elapsed < 3.2, (elapsed, log.read_text()[-3000:])
    pids = set()
    for tag, _, _, response in results:
        assert response.status_code == 200, response.content
        pid = response.content.split(b'"X-Pid":"', 1)[1].split(b'"', 1)[0].decode()
        pids.add(pid)
        assert response.content == expected(tag, pid)  # byte-exact, nothing interleaved
    assert len(pids) == 4, pids  # four workers, each with its own connection and loop
    first_round = [r for r in results if r[0].endswith("r0")]
    assert max(r[1] for r in first_round) < min(r[2] for r in first_round)  # all at once

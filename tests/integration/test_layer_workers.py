"""Managed Instances through the real stream-bootstrap: N workers, as the stock client runs them.

``AWS_LAMBDA_MAX_CONCURRENCY=4`` against the recording Runtime API, which serves every waiting
``next`` from one queue, so four workers poll at once as on Lambda.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import threading
import time
from pathlib import Path

from tests.support.layer_process import LayerHarness, start_runtime, stop
from tests.support.layer_runtime_api import chunk

HTTP_CT = "application/vnd.awslambda.http-integration-response"
MI = {"AWS_LAMBDA_MAX_CONCURRENCY": "4"}


def expected_body(tag: str, pid: str) -> bytes:
    prelude = b'{"statusCode":200,"headers":{"X-Pid":"%s","Content-Type":"text/plain"}}' % (
        pid.encode()
    )
    parts = [prelude, b"\x00" * 8] + [f"{tag}:{i}:{'x' * i}\n".encode() for i in range(4)]
    return b"".join(map(chunk, parts)) + b"0\r\n\r\n"


def wait_for_pollers(layer: LayerHarness, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while sum(r.kind == "next" for r in layer.api.received) < count:
        assert time.monotonic() < deadline, [r.kind for r in layer.api.received]
        time.sleep(0.02)


def test_four_workers_serve_eight_one_second_streams_in_two_seconds(layer: LayerHarness) -> None:
    process = layer.start("workers_app.handler", **MI)
    wait_for_pollers(layer, 4)
    started = time.monotonic()
    ids = [layer.api.push({"tag": f"t{i}"}, request_id=f"req-{i}") for i in range(8)]
    results = [layer.api.result(request_id, timeout=15) for request_id in ids]
    elapsed = time.monotonic() - started
    print(f"recording Runtime API, N=4: 8 one-second streams in {elapsed:.2f} s")  # pytest -s
    assert 1.9 < elapsed < 3.0, elapsed  # two rounds of four, not eight in a row
    pids: set[str] = set()
    for index, got in enumerate(results):
        assert got.header("Content-Type") == HTTP_CT
        assert got.header("Lambda-Runtime-Invocation-Id") == layer.api.invocation_ids[ids[index]]
        body = got.raw.split(b"\r\n\r\n", 1)[1]
        pid = body.split(b'"X-Pid":"', 1)[1].split(b'"', 1)[0].decode()
        pids.add(pid)
        assert body == expected_body(f"t{index}", pid)  # byte-exact, nothing interleaved
    assert len(pids) == 4 and str(process.pid) not in pids
    first_round = sorted(results[:4], key=lambda r: r.started)
    # four streams in flight at once: each started before any of them ended
    assert max(r.started for r in first_round) < min(r.ended for r in first_round)
    # one keep-alive connection per worker, none for the parent
    assert len({r.connection for r in layer.api.received}) == 4
    out, _ = layer.stop(process)
    # four processes share the pipe: a print's text and its newline may interleave with another's
    importers = set(re.findall(r"imported in (\d+)", out))
    assert importers == pids  # the parent never imported the handler


def test_parent_exits_zero_once_its_workers_have_exited(layer: LayerHarness) -> None:
    process = layer.start("workers_app.buffered", **MI)
    wait_for_pollers(layer, 4)
    request_id = layer.api.push({"tag": "one"})
    assert layer.api.result(request_id).json()["tag"] == "one"
    layer.api.close()  # every worker's next fails; they retry, give up and exit
    assert process.wait(timeout=20) == 0


def test_init_error_is_posted_by_every_worker_tolerating_403(layer: LayerHarness) -> None:
    layer.api.status_sequence["init_error"] = [202]
    layer.api.status_for["init_error"] = 403  # what Lambda answers all but the first
    process = layer.start("workers_app.handler", WORKERS_FAIL_IMPORT="1", **MI)
    assert process.wait(timeout=15) == 0
    out, err = layer.stop(process)
    posts = [r for r in layer.api.received if r.kind == "init_error"]
    assert len(posts) == 4
    assert {r.json()["errorMessage"] for r in posts} == {"worker import failed"}
    assert {r.header("Lambda-Runtime-Function-Error-Type") for r in posts} == {"RuntimeError"}
    assert out.count("[ERROR] RuntimeError: worker import failed\r") == 4
    assert "403" not in out + err
    assert not [r for r in layer.api.received if r.kind == "next"]


def test_a_rejected_result_only_logs_a_warning(layer: LayerHarness) -> None:
    layer.api.status_sequence["response"] = [500]
    process = layer.start("workers_app.buffered", AWS_LAMBDA_MAX_CONCURRENCY="1")
    first = layer.api.push({"tag": "rejected"})
    layer.api.result(first)
    second = layer.api.push({"tag": "served"})
    assert layer.api.result(second).json()["tag"] == "served"
    assert not [r for r in layer.api.received if r.kind == "error"]
    out, _ = layer.stop(process)
    assert "This won't kill the Runtime loop" in out


def test_a_rejected_stream_only_logs_a_warning(layer: LayerHarness) -> None:
    layer.api.status_sequence["response"] = [500]
    process = layer.start("streaming.as_asked", AWS_LAMBDA_MAX_CONCURRENCY="1")
    layer.api.result(layer.api.push({"n": 1}))
    second = layer.api.push({"n": 2})
    assert layer.api.result(second).body.startswith(b"2:")
    assert not [r for r in layer.api.received if r.kind == "error"]
    out, _ = layer.stop(process)
    assert "This won't kill the Runtime loop" in out
    assert "[ERROR]" not in out


class LogSocket:
    """Lambda's log fd provider: records each connection's peer pid, order and bytes."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(64)
        self.connections: list[tuple[int, bytearray]] = []  # (pid, data) in accept order
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            pid = struct.unpack("3i", creds)[0]
            data = bytearray()
            with self._lock:
                self.connections.append((pid, data))
            threading.Thread(target=self._read, args=(conn, data), daemon=True).start()

    def _read(self, conn: socket.socket, data: bytearray) -> None:
        with conn:
            while chunk := conn.recv(65536):
                with self._lock:
                    data += chunk

    def text_by_pid(self) -> dict[int, list[str]]:
        with self._lock:
            grouped: dict[int, list[str]] = {}
            for pid, data in self.connections:
                grouped.setdefault(pid, []).append(data.decode())
            return grouped

    def close(self) -> None:
        self._listener.close()


def test_workers_log_through_the_fd_provider_socket(layer: LayerHarness, tmp_path: Path) -> None:
    logs = LogSocket(tmp_path / "logs.sock")
    try:
        process = layer.start(
            "workers_app.handler", _LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET=logs.path, **MI
        )
        wait_for_pollers(layer, 4)
        ids = [layer.api.push({"tag": f"t{i}", "interval": 0.05}) for i in range(8)]
        pids = set()
        for request_id in ids:
            body = layer.api.result(request_id).raw
            pids.add(int(body.split(b'"X-Pid":"', 1)[1].split(b'"', 1)[0]))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            texts = logs.text_by_pid()
            if sum("".join(t).count("err ") for t in texts.values()) >= len(ids):
                break
            time.sleep(0.05)
        grouped = logs.text_by_pid()
        assert len(grouped) == 4 and process.pid not in grouped  # workers only
        for pid, (stdout, stderr) in grouped.items():  # two connections each: stdout first
            assert stdout.startswith(f"imported in {pid}\n")  # plain lines, no frames
            assert "err " not in stdout and "out " not in stderr
            if pid in pids:
                assert f" {pid}\n" in stdout and "out t" in stdout
                assert stderr.startswith("err t") and stderr.endswith(f" {pid}\n")
        out, _ = layer.stop(process)
        assert "imported in" not in out and "out t" not in out  # none on the inherited stdout
    finally:
        logs.close()


def test_parent_closes_the_telemetry_fd(layer: LayerHarness) -> None:
    read_end, write_end = os.pipe()
    try:
        process = start_runtime(
            layer.api.address,
            "workers_app.buffered",
            {**MI, "_LAMBDA_TELEMETRY_LOG_FD": str(write_end)},
            pass_fds=(write_end,),
        )
        os.close(write_end)
        write_end = -1
        try:
            wait_for_pollers(layer, 4)
            request_id = layer.api.push({"tag": "framed?"})
            assert layer.api.result(request_id).json()["tag"] == "framed?"
            # EOF: neither the parent nor any worker holds the pipe's write end any more
            os.set_blocking(read_end, False)
            assert os.read(read_end, 4096) == b""
            assert process.poll() is None
        finally:
            out, _ = stop(process)
        assert "imported in" in out  # workers logged plain lines to the inherited stdout
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def test_parent_announces_the_pool_at_debug_then_closes_the_fd(layer: LayerHarness) -> None:
    read_end, write_end = os.pipe()
    env = {**MI, "_LAMBDA_TELEMETRY_LOG_FD": str(write_end), "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}
    process = start_runtime(layer.api.address, "workers_app.buffered", env, pass_fds=(write_end,))
    os.close(write_end)
    try:
        wait_for_pollers(layer, 4)
        data = b""
        while chunk := os.read(read_end, 65536):  # until EOF: every holder closed the pipe
            data += chunk
        assert process.poll() is None
    finally:
        os.close(read_end)
        stop(process)
    frame_type, length = struct.unpack(">II", data[:8])
    assert frame_type == 0xA55A000B  # text, DEBUG
    message = data[16 : 16 + length].decode()
    assert len(data) == 16 + length  # the only record on the fd; workers log plain lines
    assert message.startswith("[DEBUG]\t")
    assert message.endswith(
        "\t\t{'event': 'runtime_worker_pool_initializing', 'workerCount': 4, "
        "'executionEnvironmentMaxConcurrency': 4}\n"
    )

"""`streamlab bench runtime --quick`: our runtime and awslambdaric run end to end and give figures.

No Node build here (it takes a minute); the figures are not judged (timing belongs to the
bench, not to tests), but every one must be there: the bench refuses an answer that is an
error, buffered where a stream was asked for, or short of the bytes asked for, so a missing
figure means a client answered wrongly.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(60)
def test_quick_bench_prints_figures_for_ours_and_awslambdaric(tmp_path: Path) -> None:
    pytest.importorskip("awslambdaric")
    report = tmp_path / "bench.json"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "streamlab", "bench", "runtime", "--quick"),
            *("--clients", "ours,awslambdaric", "--json", str(report)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout

    header = next(line for line in out.splitlines() if "server ceiling" in line)
    assert "ours" in header and "awslambdaric" in header
    figures = {
        "no-op buffered": 3,  # ceiling, ours, awslambdaric
        "no-op streamed": 2,  # awslambdaric: n/a
        "streamed in 64 KiB writes": 2,
        "start-up as deployed (ms)": 3,
        "start-up, layer sources only": 3,
        "first response as deployed (ms)": 3,
        "first response, layer sources only": 3,
        "start-up as deployed, typed handler": 3,
        "first response as deployed, typed handler": 3,
    }
    for title, count in figures.items():
        line = next(line for line in out.splitlines() if line.startswith(title) or title in line)
        numbers = re.findall(r"\d[\d,]*(?:\.\d+)?", line.split(")", 1)[1])
        assert len(numbers) == count, line
        assert all(float(n.replace(",", "")) > 0 for n in numbers), line
    assert re.search(r"(PASS|FAIL)  buffered no-op >= 1\.5x awslambdaric: \d+\.\d\dx", out)
    assert re.search(r"(PASS|FAIL)  start-up as deployed <= 0\.6x awslambdaric: \d+\.\d\dx", out)
    assert re.search(r"Our layer as deployed: (dist/lambda-streaming-|the layer's sources)", out)
    assert re.search(
        r"(PASS|FAIL)  start-up as deployed within 8 ms of the bare socket client: [+-]\d+\.\d ms",
        out,
    )
    assert "SKIP  streamed no-op >= 2.5x the Node client" in out
    assert "issue" not in out.lower()

    document = json.loads(report.read_text())
    medians = document["medians"]
    assert medians["noop_buffered"].keys() == {"ceiling", "ours", "awslambdaric"}
    assert medians["noop_streamed"].keys() == {"ceiling", "ours"}
    assert medians["bulk"]["ours"] > 0
    assert document["targets"]["streamed no-op >= 2.5x the Node client"] is None
    assert medians["startup_deployed_ms"].keys() == {"ceiling", "ours", "awslambdaric"}
    assert medians["startup_typed_ms"].keys() == {"ceiling", "ours", "awslambdaric"}


@pytest.mark.timeout(90)
def test_quick_asgi_bench_prints_figures_for_ours_and_mangum() -> None:
    """Every figure for each adapter; the bench itself refuses a wrong JSON answer."""
    pytest.importorskip("mangum")
    done = subprocess.run(
        [sys.executable, "-m", "streamlab", "bench", "asgi", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if "mangum-awslambdaric" in line)
    assert header.split() == ["ours", "ours-buffered", "mangum", "mangum-awslambdaric"]
    for title in ("JSON route (invocations/s)", "stream: first of 3 parts", "stream: end"):
        line = next(line for line in lines if line.startswith(title))
        assert len(re.findall(r"\d+(?:\.\d+)?", line.split(")", 1)[1])) == 4, line
    # Mangum buffers: its first part comes with the whole body; ours before the app ends.
    assert "stream: mangum first part after" in done.stdout
    assert "with the whole body" in done.stdout
    assert "first part before the app finishes: met" in done.stdout

"""``streamlab compare`` end to end: the real emulator, the real functions, real sockets."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from streamlab.cli import main
from streamlab.compare.local import LocalEmulator
from streamlab.compare.measure import Workload, measure
from streamlab.compare.signing import SigV4
from streamlab.compare.stack import stack_targets
from streamlab.compare.targets import (
    FORMATS,
    MODES,
    REST_API,
    REST_PATHS,
    REST_STAGE,
    Target,
    logical_id,
    output_key,
)
from tests.conftest import ROOT, TEMPLATE
from tests.support.compare_cloudformation import cloudformation_stand_in

TOKENS = 8
DELAY_MS = 40


def table_median_ms(report: str, heading: str, metric: str) -> float:
    """The median cell of ``metric`` in the table under ``### heading``."""
    section = report.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    match = re.search(rf"^\| {re.escape(metric)} \| ([0-9.,]+) ms \|", section, re.MULTILINE)
    assert match, f"no {metric!r} row under {heading!r}"
    return float(match.group(1).replace(",", ""))


@pytest.mark.timeout(120)
def test_compare_runs_the_local_emulator_and_writes_the_report(tmp_path: Path) -> None:
    output = tmp_path / "docs" / "comparison.md"
    command = [sys.executable, "-m", "streamlab", "compare", "--template", str(TEMPLATE)]
    command += ["--runs", "2", "--tokens", str(TOKENS), "--token-delay", str(DELAY_MS)]
    command += ["--export-mib", "8", "--export-runs", "1", "--output", str(output)]
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=110, check=False
    )
    assert completed.returncode == 0, completed.stderr

    # Progress: one line per measured call, as it happens.
    progress = re.findall(r"^\[\s*(\d+)/12\] ", completed.stderr, re.MULTILINE)
    assert [int(n) for n in progress] == list(range(1, 13))

    # The emulator it started is gone again.
    port = int(re.search(r"emulator listening at http://127\.0\.0\.1:(\d+)", completed.stderr)[1])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()

    report = output.read_text()
    plot = output.with_suffix(".svg")
    assert plot.stat().st_size > 1000 and "<svg" in plot.read_text()
    assert "](comparison.svg)" in report
    for heading in ("## Method", "## Machine", "## Reading", "## Regenerate it"):
        assert heading in report
    for label in ("raw text", "SSE", "JSON lines"):
        for mode in ("streamed", "buffered"):
            assert f"### {label}, {mode}\n\n2 runs, 0 failed." in report
        streamed = table_median_ms(report, f"{label}, streamed", "time to first token")
        buffered = table_median_ms(report, f"{label}, buffered", "time to first token")
        # A buffered client waits for the whole generation; a streamed one for one token.
        assert buffered >= (TOKENS - 1) * DELAY_MS
        assert streamed < buffered / 3, (label, streamed, buffered)
        # Streamed tokens arrive one by one, paced by the generator; buffered ones at once.
        assert table_median_ms(report, f"{label}, streamed", "gap between tokens") >= DELAY_MS / 2
        assert table_median_ms(report, f"{label}, buffered", "gap between tokens") < 1

    # The large export, under Lambda's caps (stated beside the figures): 8 MiB is 2 MiB past
    # the Function URL's uncapped 6 MiB, so about a second at 2 MiB/s in every format.
    export = report.split("## Large export\n", 1)[1].split("\n## ", 1)[0]
    assert "**Caps in force**: the first 6 MiB of a response uncapped, then\n2 MiB/s" in export
    for label in ("raw text", "SSE", "JSON lines"):
        row = re.search(rf"^\| {label} \| 1 of 1 \| ([0-9.]+) MiB \| ([0-9.]+) s \|", export, re.M)
        assert row, export
        assert float(row[1]) >= 8.0 and 0.95 <= float(row[2]) < 3, row.group(0)


@pytest.fixture(scope="module")
def signing_emulator() -> LocalEmulator:
    """The template as deployed by default: AWS_IAM URLs, SigV4 enforced."""
    with LocalEmulator(TEMPLATE, auth=True) as emulator:
        yield emulator


def stack_outputs(base_url: str, *, twins: bool = True) -> dict[str, str]:
    modes = MODES if twins else ("streamed",)
    return {
        f"{logical_id(fmt, mode)}Url": f"{base_url}/{logical_id(fmt, mode)}/"
        for fmt in FORMATS
        for mode in modes
    }


@pytest.mark.timeout(60)
def test_compare_reads_a_stack_and_signs_aws_iam_urls(
    signing_emulator: LocalEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outputs = stack_outputs(signing_emulator.base_url)
    args = ["compare", "--stack", "demo", "--runs", "1", "--warmup", "0", "--tokens", "3"]
    args += ["--token-delay", "0", "--export-mib", "0", "--output", str(tmp_path / "aws.md")]
    with cloudformation_stand_in("demo", outputs, {"FunctionUrlAuthType": "AWS_IAM"}) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", url)
        assert main(args) == 0, capsys.readouterr().err
    assert "the deployed stack `demo`" in (tmp_path / "aws.md").read_text()

    # The same URLs unsigned (the stack says NONE, the emulator says AWS_IAM): all refused.
    with cloudformation_stand_in("demo", outputs, {"FunctionUrlAuthType": "NONE"}) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", url)
        assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("FAILED: HTTP 403") == 6
    assert "every call failed; no report written" in err


@pytest.mark.timeout(60)
def test_compare_front_rest_streams_through_the_rest_stage_signed_for_execute_api(
    signing_emulator: LocalEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = signing_emulator.base_url
    outputs = stack_outputs(base)
    for fmt in FORMATS:
        outputs[output_key(fmt, "streamed", "rest")] = (
            f"{base}/{REST_API}/{REST_STAGE}/{REST_PATHS[fmt]}"
        )
    assert set(outputs) >= {"RawTextRestUrl", "SseRestUrl", "JsonlRestUrl"}  # template's names
    report = tmp_path / "rest.md"
    args = ["compare", "--stack", "demo", "--front", "rest", "--runs", "1", "--warmup", "0"]
    args += ["--tokens", "3", "--token-delay", "0", "--export-mib", "0", "--output", str(report)]
    parameters = {"FunctionUrlAuthType": "AWS_IAM", "RestApiAuthorizer": "AWS_IAM"}
    with cloudformation_stand_in("demo", outputs, parameters) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", url)
        assert main(args) == 0, capsys.readouterr().err
        targets = {(t.fmt, t.mode): t for t in stack_targets("demo", front="rest")}
    text = report.read_text()
    assert "(streamed through the REST API stage)" in text
    assert "--front rest" in text
    # The streamed calls went to the REST stage, which refuses anything not signed for
    # execute-api; the buffered ones to the twins' Function URLs (signed for lambda).
    assert targets[("sse", "streamed")].url == f"{base}/{REST_API}/{REST_STAGE}/sse"
    assert targets[("sse", "buffered")].url == f"{base}/BufferedSseFunction/"
    unsigned = requests.get(targets[("sse", "streamed")].url, params={"prompt": "x"}, timeout=10)
    assert unsigned.status_code == 403


def test_compare_names_what_a_stack_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = stack_outputs("https://example.invalid", twins=False)
    with cloudformation_stand_in("demo", outputs, {"FunctionUrlAuthType": "NONE"}) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", url)
        assert main(["compare", "--stack", "demo", "--output", str(tmp_path / "x.md")]) == 2
        assert main(["compare", "--stack", "other", "--output", str(tmp_path / "x.md")]) == 2
    err = capsys.readouterr().err
    assert "stack outputs lack BufferedJsonlFunctionUrl" in err
    assert "DeployBufferedTwins=true" in err
    assert "cannot read stack other" in err and "does not exist" in err
    assert not (tmp_path / "x.md").exists()


@pytest.mark.timeout(60)
def test_a_stream_that_fails_midway_is_reported_not_counted(
    signing_emulator: LocalEmulator,
) -> None:
    """The built-in generator fails after 3 tokens: each format tells the client in band."""
    auth = SigV4.from_environment()
    expected_error = {
        "raw": "stream ended with a notice: [error generator_failed",
        "sse": "error event: ",
        "ndjson": "error message: generator_failed",
    }
    with requests.Session() as session:
        for fmt in FORMATS:
            url = f"{signing_emulator.base_url}/{logical_id(fmt, 'streamed')}/?fail_after=3"
            result = measure(session, Target(fmt, "streamed", url, auth), Workload(tokens=6))
            assert result.status == 200
            assert not result.ok
            assert result.tokens == 3, fmt
            assert result.error is not None and result.error.startswith(expected_error[fmt])
            if fmt != "raw":
                assert result.ended == "done:error"

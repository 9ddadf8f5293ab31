"""The emulator runs SnapStart functions through the snapshot/restore sequence, as AWS does.

A function whose template says ``SnapStart: {ApplyOn: PublishedVersions}`` starts with
``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``: its runtime runs the before-snapshot hooks, calls
``restore/next``, runs the after-restore hooks, then serves. A failing hook fails the cold start.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
import requests
from botocore.config import Config

from streamlab.emulator.server import EmulatorServer
from tests.conftest import ROOT
from tests.support.front_server import serving_template

TEMPLATE = ROOT / "tests" / "fixtures" / "snapstart_app" / "template.yaml"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serving_template(TEMPLATE, auth=False) as running:
        yield running


def test_hooks_run_around_the_restore_on_a_cold_start(server: EmulatorServer) -> None:
    for _ in range(2):  # the second request is warm: nothing runs again
        response = requests.get(f"{server.base_url}/SnapFunction/", timeout=30)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "ran": ["before-2", "before-1", "after-1", "after-2"],
            "init": "snap-start",
        }


def test_without_snap_start_no_hook_runs(server: EmulatorServer) -> None:
    response = requests.get(f"{server.base_url}/PlainFunction/", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {"ran": [], "init": "on-demand"}


def test_a_failing_after_restore_hook_fails_the_cold_start(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    response = requests.get(f"{server.base_url}/SnapFailFunction/", timeout=30)
    assert response.status_code == 502
    assert "502 Bad Gateway: Runtime.AfterRestoreError: after-1 hook failed" in caplog.text
    lam = boto3.client(
        "lambda",
        endpoint_url=server.base_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30),
    )
    result = lam.invoke(FunctionName="SnapFailFunction", Payload=b"{}")
    assert result["FunctionError"] == "Unhandled"
    document = json.loads(result["Payload"].read())  # what the runtime posted to restore/error
    assert (document["errorType"], document["errorMessage"]) == (
        "ValueError",
        "after-1 hook failed",
    )

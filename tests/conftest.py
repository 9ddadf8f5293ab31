"""Shared test settings: where things are, and telemetry off for every SAM CLI call."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYER_DIR = ROOT / "layers" / "streaming"
STREAM_BOOTSTRAP = LAYER_DIR / "stream-bootstrap"
TEMPLATE = ROOT / "template.yaml"

os.environ.setdefault("SAM_CLI_TELEMETRY", "0")
# botocore clients in tests talk to local servers only; give them credentials and a region.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fill the emulator's cache once, before any test's timeout runs: what the python3.13
    runtime provides and the Powertools layers the templates name (a fresh machine installs
    them from PyPI here, in a few seconds each; later sessions find them ready)."""
    from streamlab.emulator import provision

    runtime = provision.runtime_set("python3.13")
    for arn in (
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27",
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:7",
    ):
        provision.powertools_layer(arn, runtime.interpreter.version)

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

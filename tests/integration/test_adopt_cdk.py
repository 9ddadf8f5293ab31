"""The AWS CDK example (examples/cdk): ``cdk synth`` offline with the CLI from npm and
aws-cdk-lib from PyPI (both installed into .bench/cdk by scripts/install-cdk.sh, which
``make test`` runs); the synthesized template has the layer, the wrapper and a streaming URL."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cdk"
CDK_DIR = ROOT / ".bench" / "cdk"
CDK = CDK_DIR / "node_modules" / ".bin" / "cdk"
CDK_PYTHON_BIN = CDK_DIR / "venv" / "bin"
ARN = "arn:aws:lambda:us-east-1:123456789012:layer:lambda-streaming:4"

pytestmark = pytest.mark.skipif(
    not CDK.exists() or not (CDK_DIR / "venv" / ".installed").exists(),
    reason="the AWS CDK is not installed: run `sh scripts/install-cdk.sh` (make test does)",
)


def test_cdk_synth_gives_the_layer_the_wrapper_and_a_streaming_url(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{CDK_PYTHON_BIN}{os.pathsep}{os.environ['PATH']}",  # cdk.json runs python3
        "CDK_DISABLE_VERSION_CHECK": "true",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    env.pop("PYTHONPATH", None)
    out = tmp_path / "cdk.out"
    done = subprocess.run(
        [
            str(CDK),
            "synth",
            "--no-notices",
            "--no-version-reporting",
            "-q",
            "-o",
            str(out),
            "-c",
            f"streaming_layer_arn={ARN}",
        ],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    resources = json.loads((out / "StreamingStack.template.json").read_text())["Resources"]
    by_type: dict[str, list[dict]] = {}
    for resource in resources.values():
        by_type.setdefault(resource["Type"], []).append(resource.get("Properties", {}))
    (function,) = by_type["AWS::Lambda::Function"]
    assert function["Layers"] == [ARN]
    assert (
        function["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/stream-bootstrap"
    )
    assert function["Runtime"].startswith("python3.") and function["Handler"] == "app.handler"
    (url,) = by_type["AWS::Lambda::Url"]
    assert url["InvokeMode"] == "RESPONSE_STREAM"
    assert url["AuthType"] == "AWS_IAM"


def test_cdk_synth_without_the_layer_arn_says_what_to_set(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(CDK_PYTHON_BIN / "python"), "app.py"],
        cwd=EXAMPLE,
        env={**os.environ, "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "streaming_layer_arn" in done.stdout + done.stderr

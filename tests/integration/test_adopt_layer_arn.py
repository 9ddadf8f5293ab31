"""The layer by ARN: the layer-only stack, the app taking a published layer version, and the
minimal SAM example; ``streamlab serve`` serves an ARN-named lambda-streaming layer with the
local code and streams through it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

from streamlab.emulator import streaming_layer
from tests.support.app_emulator import call, emulator
from tests.support.dist import LAYER_SOURCES, version

ROOT = Path(__file__).resolve().parents[2]
LAYER_TEMPLATE = LAYER_SOURCES / "template.yaml"
MINIMAL = ROOT / "examples" / "sam-minimal" / "template.yaml"
ARN = "arn:aws:lambda:eu-west-1:123456789012:layer:lambda-streaming:7"
SAM = Path(sys.executable).with_name("sam")


def sam(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SAM), *args],
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=240,
    )


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref, !If...) as plain values."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.mark.parametrize("template", [LAYER_TEMPLATE, MINIMAL], ids=["layer-only", "minimal"])
def test_templates_validate_with_lint(template: Path) -> None:
    result = sam("validate", "--lint", "--template-file", str(template))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layer_only_stack_builds_and_describes_its_version(tmp_path: Path) -> None:
    result = sam(
        "build",
        "--template-file",
        str(LAYER_TEMPLATE),
        "--build-dir",
        str(tmp_path / "build"),
        "--cache-dir",
        str(tmp_path / "cache"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    layer = tmp_path / "build" / "StreamingLayer"
    assert os.access(layer / "stream-bootstrap", os.X_OK)
    assert (layer / "python" / "lambda_streaming" / "__init__.py").is_file()
    template = yaml.load(LAYER_TEMPLATE.read_text(), Loader=CfnLoader)
    properties = template["Resources"]["StreamingLayer"]["Properties"]
    assert properties["LayerName"] == "lambda-streaming"
    assert f"lambda-streaming {version()}:" in properties["Description"]
    assert properties["CompatibleRuntimes"] == [f"python3.{n}" for n in (11, 12, 13, 14)]
    assert properties["CompatibleArchitectures"] == ["x86_64", "arm64"]
    application = template["Metadata"]["AWS::ServerlessRepo::Application"]
    assert application["SemanticVersion"] == version()
    for key in ("Name", "Description", "Author", "SpdxLicenseId", "SourceCodeUrl"):
        assert application[key], key
    for key in ("LicenseUrl", "ReadmeUrl"):  # local files that sam package uploads
        assert (LAYER_SOURCES / application[key]).is_file(), key
    permission = template["Resources"]["SharedLayer"]
    assert permission["Type"] == "AWS::Lambda::LayerVersionPermission"
    assert permission["Condition"] == "Shared"
    assert "LayerArn" in template["Outputs"]


def functions(template: Path, **overrides: str) -> dict[str, object]:
    stacks, _ = SamLocalStackProvider.get_stacks(str(template), parameter_overrides=overrides)
    provider = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True)
    return {f.name: f for f in provider.get_all()}


def test_the_app_takes_the_layer_by_arn_or_from_source() -> None:
    by_arn = functions(ROOT / "template.yaml", StreamingLayerArn=ARN)["SseFunction"]
    assert by_arn.layers[0].arn == ARN and by_arn.layers[0].codeuri is None
    from_source = functions(ROOT / "template.yaml")["SseFunction"]
    assert from_source.layers[0].name == "StreamingLayer" and from_source.layers[0].codeuri


def test_only_lambda_streaming_arns_are_served_locally() -> None:
    assert streaming_layer.is_streaming_layer_arn(ARN)
    assert streaming_layer.is_streaming_layer_arn(
        "arn:aws-cn:lambda:cn-north-1:123456789012:layer:lambda-streaming:1"
    )
    assert not streaming_layer.is_streaming_layer_arn(
        "arn:aws:lambda:eu-west-1:123456789012:layer:lambda-streaming-fork:7"
    )
    layer = streaming_layer.local_layer(ARN, notify=lambda _: None)
    assert layer is not None
    assert os.access(layer / "stream-bootstrap", os.X_OK)
    assert (layer / "python" / "lambda_streaming" / "runtime" / "bootstrap.py").is_file()


def test_serve_streams_the_app_with_the_layer_given_by_arn() -> None:
    with emulator(ROOT / "template.yaml", StreamingLayerArn=ARN) as base_url:
        reply = call("GET", f"{base_url}/SseFunction/?max_tokens=4&token_delay_ms=150&prompt=hi")
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("text/event-stream")
    assert reply.body.count(b"\nid: ") + reply.body.startswith(b"id: ") >= 4
    assert reply.arrival(b"id: 3\n") - reply.arrival(b"id: 0\n") >= 0.3  # streamed, not at once


def test_serve_streams_the_minimal_example() -> None:
    with emulator(MINIMAL, StreamingLayerArn=ARN) as base_url:
        reply = call("GET", f"{base_url}/StreamFunction/")
    assert reply.status == 200, reply.body
    assert reply.body == b"1\n2\n3\n4\n5\n"
    assert reply.arrival(b"5\n") - reply.arrival(b"1\n") >= 0.6  # one line per 200 ms

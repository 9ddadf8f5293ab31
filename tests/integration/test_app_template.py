"""The SAM application: lint, build, and what SAM CLI reads out of the template."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAM = Path(sys.executable).with_name("sam")
STREAMING = ("RawTextFunction", "SseFunction", "JsonlFunction")
TWINS = tuple("Buffered" + name for name in STREAMING)


def sam(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(
        [str(SAM), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


def test_sam_validate_lint() -> None:
    result = sam("validate", "--lint", "--template-file", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_build_without_a_container(tmp_path: Path) -> None:
    build = tmp_path / "build"
    result = sam(
        "build",
        "--template-file",
        str(TEMPLATE),
        "--build-dir",
        str(build),
        "--cache-dir",
        str(tmp_path / "cache"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in STREAMING + TWINS:
        assert (build / name / "app.py").is_file(), name
    built = (build / "template.yaml").read_text()
    assert "StreamingLayer" in built
    layer = build / "StreamingLayer"
    assert os.access(layer / "stream-bootstrap", os.X_OK)
    assert (layer / "python" / "lambda_streaming" / "runtime" / "bootstrap.py").is_file()
    assert not (layer / "Makefile").exists()
    compiled = sorted(layer.rglob("*.pyc"))
    if not is_python_313(shutil.which("python3.13")):  # what the layer's Makefile looks for
        # sources only, and none of the checkout's own caches
        assert compiled == [], compiled
        assert "shipping sources only" in result.stdout + result.stderr
    else:
        assert compiled and all(".cpython-313." in path.name for path in compiled)


def is_python_313(candidate: str | None) -> bool:
    """Whether ``candidate`` really runs as Python 3.13 (pyenv shims can exist and fail)."""
    if candidate is None:
        return False
    ran = subprocess.run(
        [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
        capture_output=True,
        text=True,
    )
    return ran.stdout.strip() == "True"


def target_python() -> str | None:
    """A python3.13 that really runs: on PATH, or one pyenv has installed."""
    candidates = [shutil.which("python3.13")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        found = subprocess.run([pyenv, "prefix", "3.13"], capture_output=True, text=True)
        candidates += [
            str(Path(prefix) / "bin" / "python3.13")
            for prefix in found.stdout.strip().split(":")
            if found.returncode == 0 and prefix.strip()
        ]
    return next((c for c in candidates if is_python_313(c)), None)


def test_layer_build_adds_unchecked_hash_pyc_from_the_target_python(tmp_path: Path) -> None:
    python = target_python()
    if python is None:
        pytest.skip("no python3.13 here to compile with")
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    env = {**os.environ, "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}"}
    made = subprocess.run(
        ["make", "-C", str(ROOT / "layers" / "streaming"), "build-StreamingLayer"],
        env={**env, "ARTIFACTS_DIR": str(artifacts)},
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    pyc = artifacts / "python" / "lambda_streaming" / "runtime" / "__pycache__"
    header = (pyc / "bootstrap.cpython-313.pyc").read_bytes()[:8]
    magic = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util, sys; sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER)",
        ],
        capture_output=True,
    ).stdout
    assert header[:4] == magic
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source not checked


def functions(**overrides: str) -> dict[str, object]:
    stacks, _ = SamLocalStackProvider.get_stacks(str(TEMPLATE), parameter_overrides=overrides)
    provider = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True)
    return {f.name: f for f in provider.get_all()}


def test_each_function_streams_through_the_layer() -> None:
    found = functions()
    assert set(STREAMING + TWINS) <= set(found)
    for name in STREAMING + TWINS:
        function = found[name]
        variables = function.environment["Variables"]
        assert function.runtime == "python3.13" and function.architectures == ["arm64"]
        assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/stream-bootstrap"
        mode = "BUFFERED" if name in TWINS else "RESPONSE_STREAM"
        assert function.function_url_config["InvokeMode"] == mode, name
        assert variables["STREAM_INVOKE_MODE"] == mode, name
        assert function.function_url_config["AuthType"] == "AWS_IAM", name
        assert function.layers[0].name == "StreamingLayer"
        assert "AWSLambdaPowertoolsPythonV3-python313-arm64" in function.layers[1].name
        assert function.logging_config["LogFormat"] == "JSON"


def test_parameters_reach_the_functions() -> None:
    found = functions(
        FunctionUrlAuthType="NONE",
        ModelId="us.amazon.nova-micro-v1:0",
        CorsAllowOrigins="https://a.example,http://localhost:3000",
    )
    sse = found["SseFunction"]
    assert sse.function_url_config["AuthType"] == "NONE"
    assert sse.function_url_config["Cors"]["AllowOrigins"] == [
        "https://a.example",
        "http://localhost:3000",
    ]
    assert sse.environment["Variables"]["MODEL_ID"] == "us.amazon.nova-micro-v1:0"


class CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub ... as plain {"Ref": ...} mappings."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, object]:
    name = suffix if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: object = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template() -> dict[str, object]:
    return yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)


def test_bedrock_access_only_for_the_chosen_model(template: dict) -> None:
    policy = template["Resources"]["BedrockStreamPolicy"]
    assert policy["Condition"] == "UseBedrock"
    assert template["Conditions"]["UseBedrock"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ModelId"}, ""]}]
    }
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        assert statement["Action"] == "bedrock:InvokeModelWithResponseStream"
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        scoped = [r["Fn::Sub"] for r in resources]
        if "Condition" in statement:  # models reached through the chosen inference profile
            (arn,) = statement["Condition"]["StringEquals"].values()
            assert arn["Fn::Sub"].endswith("inference-profile/${ModelId}")
        else:
            assert all(r.endswith("/${ModelId}") for r in scoped)
    for name in STREAMING + TWINS:
        policies = template["Resources"][name]["Properties"]["Policies"]
        assert policies == [
            {"Fn::If": ["UseBedrock", {"Ref": "BedrockStreamPolicy"}, {"Ref": "AWS::NoValue"}]}
        ]


def test_parameters_are_constrained_and_described(template: dict) -> None:
    parameters = template["Parameters"]
    assert parameters["FunctionUrlAuthType"]["AllowedValues"] == ["AWS_IAM", "NONE"]
    assert parameters["FunctionUrlAuthType"]["Default"] == "AWS_IAM"
    assert parameters["DeployBufferedTwins"]["AllowedValues"] == ["true", "false"]
    assert parameters["ModelId"]["Default"] == ""
    assert all(p.get("Description") for p in parameters.values())


def test_twins_and_outputs(template: dict) -> None:
    resources, outputs = template["Resources"], template["Outputs"]
    for name in TWINS:
        assert resources[name]["Condition"] == "WithBufferedTwins"
        assert outputs[f"{name}Url"]["Condition"] == "WithBufferedTwins"
    for name in STREAMING + TWINS:
        assert outputs[f"{name}Url"]["Value"] == {"Fn::GetAtt": f"{name}Url.FunctionUrl"}
        assert outputs[f"{name}Name"]["Value"] == {"Ref": name}


def test_public_urls_get_both_permissions(template: dict) -> None:
    resources = template["Resources"]
    for name in STREAMING + TWINS:
        base = name.removesuffix("Function")
        url = resources[f"{base}PublicUrlPermission"]["Properties"]
        invoke = resources[f"{base}PublicInvokePermission"]["Properties"]
        assert (url["Action"], url["FunctionUrlAuthType"]) == ("lambda:InvokeFunctionUrl", "NONE")
        assert (invoke["Action"], invoke["InvokedViaFunctionUrl"]) == (
            "lambda:InvokeFunction",
            True,
        )
        assert url["FunctionName"] == invoke["FunctionName"] == {"Ref": name}


def test_observability_defaults(template: dict) -> None:
    function = template["Globals"]["Function"]
    assert function["Tracing"] == "Active"
    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    assert function["LoggingConfig"]["ApplicationLogLevel"] == {"Ref": "LogLevel"}


def translate(**parameters: str) -> dict:
    """The CloudFormation SAM's own transform makes of the template (code URIs as S3 stand-ins:
    the transform wants packaged code), with the given parameter values."""
    from samcli.yamlhelper import yaml_parse
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict:
            return {}

    text = TEMPLATE.read_text()
    for folder in ("raw_text", "sse", "jsonl"):
        text = text.replace(f"CodeUri: functions/{folder}/", "CodeUri: s3://bucket/code.zip")
    text = text.replace("ContentUri: layers/streaming/", "ContentUri: s3://bucket/layer.zip")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(yaml_parse(text), parameters, NoManagedPolicies())


@pytest.mark.parametrize(
    ("parameters", "signed"),
    [({}, True), ({"FunctionUrlAuthType": "NONE", "RestApiAuthorizer": ""}, False)],
)
def test_rest_api_streams_each_route_with_the_chosen_auth(parameters: dict, signed: bool) -> None:
    resources = translate(**parameters)["Resources"]
    api = resources["StreamingRestApi"]
    assert api["Type"] == "AWS::ApiGateway::RestApi"
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    paths = api["Properties"]["Body"]["paths"]
    assert set(paths) == {"/raw", "/sse", "/jsonl"}
    for path, methods in paths.items():
        assert set(methods) == {"get", "post", "options"}, path
        for verb in ("get", "post"):
            integration = methods[verb]["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
            assert integration["responseTransferMode"] == "STREAM"
            assert "/2021-11-15/functions/" in integration["uri"]["Fn::Sub"]
            assert integration["uri"]["Fn::Sub"].endswith("/response-streaming-invocations")
            assert "credentials" not in integration  # InvokeRole NONE: the resource policy
            assert (methods[verb].get("security") == [{"AWS_IAM": []}]) is signed, (path, verb)
        assert "security" not in methods["options"]  # browsers' preflights are unsigned
    stages = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert [s["Properties"]["StageName"] for s in stages] == [{"Ref": "RestApiStageName"}]
    permissions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert len(permissions) == 6

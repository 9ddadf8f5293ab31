"""The SAM application: lint, build, and what SAM CLI reads out of the template."""

from __future__ import annotations

import os
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
    app_layer = build / "AppLayer" / "python" / "token_stream"
    assert (app_layer / "prompt_response.py").is_file()
    assert not list(app_layer.rglob("__pycache__"))
    assert not (layer / "python" / "lambda_streaming" / "content").exists()  # the app's, not ours
    # the layer's Makefile runs build_layer.py: .pyc from every CPython 3.11-3.14 found here
    # (sources only without one), and none of the checkout's own caches
    tags = {"cpython-" + minor.replace(".", "") for minor in build_layer().interpreters()}
    compiled = sorted(layer.rglob("*.pyc"))
    assert {path.name.split(".")[-2] for path in compiled} == tags
    assert "lambda-streaming" in result.stdout + result.stderr


def build_layer():
    """layers/streaming/build_layer.py as a module (what it finds to compile with)."""
    import importlib.util

    script = ROOT / "layers" / "streaming" / "build_layer.py"
    spec = importlib.util.spec_from_file_location("build_layer", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sam_builds_the_layer_as_make_layer_does(tmp_path: Path) -> None:
    """One build step: the layer sam build makes (BuildMethod: makefile) is the zip's content,
    file for file, byte for byte, with the same permissions."""
    from tests.support.dist import build_layer_zip, unzip

    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    made = subprocess.run(
        ["make", "-C", str(ROOT / "layers" / "streaming"), "build-StreamingLayer"],
        env={**os.environ, "ARTIFACTS_DIR": str(artifacts)},
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    build_layer_zip(tmp_path / "layer.zip")
    unzipped = unzip(tmp_path / "layer.zip", tmp_path / "unzipped")

    def tree(root: Path) -> dict[str, tuple[int, bytes]]:
        return {
            p.relative_to(root).as_posix(): (
                p.stat().st_mode,
                p.read_bytes() if p.is_file() else b"",
            )
            for p in root.rglob("*")
        }

    assert tree(artifacts) == tree(unzipped)
    assert os.access(artifacts / "stream-bootstrap", os.X_OK)


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
        assert [layer.name for layer in function.layers[:2]] == ["StreamingLayer", "AppLayer"]
        assert "AWSLambdaPowertoolsPythonV3-python313-arm64" in function.layers[2].name
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
    """The CloudFormation the template's transforms make of it, in CloudFormation's order:
    AWS::LanguageExtensions (SAM CLI's port of it), then SAM's own transform (code URIs as S3
    stand-ins: the transform wants packaged code), with the given parameter values."""
    from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions
    from samcli.yamlhelper import yaml_parse
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict:
            return {}

    text = TEMPLATE.read_text()
    for folder in ("raw_text", "sse", "jsonl"):
        text = text.replace(f"CodeUri: functions/{folder}/", "CodeUri: s3://bucket/code.zip")
    text = text.replace("ContentUri: layers/streaming/", "ContentUri: s3://bucket/layer.zip")
    text = text.replace("ContentUri: functions/shared/", "ContentUri: s3://bucket/app.zip")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    expanded = expand_language_extensions(yaml_parse(text), parameters, enabled=True)
    assert expanded.had_language_extensions
    return transform(expanded.expanded_template, parameters, NoManagedPolicies())


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
    assert [s["Properties"]["StageName"] for s in stages] == ["prod"]
    permissions = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert len(permissions) == 6


AWS_PSEUDO = {
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}


def _conditions(template: dict, parameters: dict[str, str]) -> dict[str, bool]:
    """Every condition of the template with these parameter values (defaults for the rest)."""
    values = {k: v.get("Default") for k, v in template["Parameters"].items()} | parameters
    memo: dict[str, bool] = {}

    def value(node: object) -> object:
        return values[node["Ref"]] if isinstance(node, dict) and "Ref" in node else node

    def holds(node: dict) -> bool:
        ((fn, args),) = node.items()
        if fn == "Fn::Equals":
            return value(args[0]) == value(args[1])
        if fn == "Fn::Not":
            return not holds(args[0])
        if fn == "Fn::And":
            return all(holds(a) for a in args)
        if fn == "Fn::Or":
            return any(holds(a) for a in args)
        assert fn == "Condition", node
        return named(args)

    def named(name: str) -> bool:
        if name not in memo:
            memo[name] = holds(template["Conditions"][name])
        return memo[name]

    return {name: named(name) for name in template["Conditions"]}


def dangling_references(template: dict, parameters: dict[str, str]) -> list[tuple[str, str]]:
    """(where, what) for every Ref, GetAtt, Sub variable or DependsOn of a deployed resource or
    output that names a resource CloudFormation leaves out with these parameter values:
    the stack would fail (Unresolved resource dependencies)."""
    import re

    conditions = _conditions(template, parameters)
    resources = template["Resources"]
    deployed = {k for k, r in resources.items() if conditions.get(r.get("Condition"), True)}
    known = deployed | set(template["Parameters"]) | AWS_PSEUDO
    found: list[tuple[str, str]] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, where)
            return
        if not isinstance(node, dict):
            return
        if list(node) == ["Fn::If"]:
            name, if_true, if_false = node["Fn::If"]
            walk(if_true if conditions[name] else if_false, where)
            return
        for key, arg in node.items():
            if key == "Ref" and isinstance(arg, str):
                names = [arg]
            elif key == "Fn::GetAtt":
                names = [arg[0] if isinstance(arg, list) else arg.split(".")[0]]
            elif key == "DependsOn":
                names = [arg] if isinstance(arg, str) else list(arg)
            elif key == "Fn::Sub":
                text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                walk(local, where)
                names = [
                    n.split(".")[0]
                    for n in re.findall(r"\$\{([^!}][^}]*)\}", text)
                    if n not in local
                ]
            else:
                walk(arg, where)
                continue
            found.extend((where, n) for n in names if n not in known)

    for logical_id in deployed:
        walk(resources[logical_id], logical_id)
    for name, output in template.get("Outputs", {}).items():
        if conditions.get(output.get("Condition"), True):
            walk(output, f"Outputs.{name}")
    return found


@pytest.mark.parametrize("deploy", ["true", "false"])
@pytest.mark.parametrize(
    "access",
    [{}, {"FunctionUrlAuthType": "NONE", "RestApiAuthorizer": "", "DeployBufferedTwins": "true"}],
)
def test_rest_api_is_deployed_only_when_asked(deploy: str, access: dict) -> None:
    parameters = {"DeployRestApi": deploy, **access}
    output = translate(**parameters)
    assert dangling_references(output, parameters) == []
    conditions = _conditions(output, parameters)
    deployed = {
        k: r["Type"]
        for k, r in output["Resources"].items()
        if conditions.get(r.get("Condition"), True)
    }
    gateway = {k for k, kind in deployed.items() if kind.startswith("AWS::ApiGateway::")}
    rest_permissions = {
        k
        for k, r in output["Resources"].items()
        if k in deployed
        and r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    rest_outputs = {
        k
        for k, o in output["Outputs"].items()
        if conditions.get(o.get("Condition"), True) and "execute-api" in str(o["Value"])
    }
    if deploy == "true":
        assert {deployed[k] for k in gateway} == {
            "AWS::ApiGateway::RestApi",
            "AWS::ApiGateway::Deployment",
            "AWS::ApiGateway::Stage",
        }
        assert len(rest_permissions) == 6
        assert rest_outputs == {"RestApiUrl", "RawTextRestUrl", "SseRestUrl", "JsonlRestUrl"}
    else:
        assert gateway == set() and rest_permissions == set() and rest_outputs == set()
    # The Function URLs stay either way.
    assert {k for k, kind in deployed.items() if kind == "AWS::Lambda::Url"} >= {
        f"{name}Url" for name in STREAMING
    }


def test_reference_check_sees_the_failure_sam_alone_would_make() -> None:
    """Without the conditional events, SAM gives each event's permission the function's
    condition (none): with the API left out they would name a missing resource."""
    text = TEMPLATE.read_text()
    assert "Events: !If\n        - WithRestApi\n" in text
    resources = translate(DeployRestApi="true")["Resources"]
    permission = next(
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["Principal"] == "apigateway.amazonaws.com"
    )
    assert "Condition" not in permission
    assert "StreamingRestApi" in str(permission["Properties"]["SourceArn"])
    broken = {"Parameters": {"DeployRestApi": {"Default": "true"}}, "Outputs": {}}
    broken["Conditions"] = {"WithRestApi": {"Fn::Equals": [{"Ref": "DeployRestApi"}, "true"]}}
    broken["Resources"] = {
        "StreamingRestApi": {"Type": "AWS::ApiGateway::RestApi", "Condition": "WithRestApi"},
        "Permission": permission,
    } | {name: {"Type": "AWS::Lambda::Function"} for name in STREAMING}
    assert dangling_references(broken, {"DeployRestApi": "false"}) == [
        ("Permission", "StreamingRestApi")
    ]

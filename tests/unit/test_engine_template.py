"""Template loading through SAM CLI's providers: Globals, parameters, layers, Function URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamlab.emulator.invocation import CorsConfig, FunctionUrl
from streamlab.emulator.template import TemplateError, load_functions, parse_parameter_overrides
from tests.support.engine_helpers import FIXTURE_APP, FIXTURE_TEMPLATE


@pytest.fixture(scope="module")
def functions():  # type: ignore[no-untyped-def]
    return load_functions(FIXTURE_TEMPLATE, "Greeting=howdy")


def test_globals_fill_in_what_a_function_leaves_out(functions) -> None:  # type: ignore[no-untyped-def]
    echo = functions["EchoFunction"]
    assert (echo.runtime, echo.timeout_s, echo.memory_mb, echo.architecture) == (
        "python3.13",
        2.0,
        256,
        "arm64",
    )
    sleep = functions["SleepFunction"]  # its own values win over Globals
    assert (sleep.timeout_s, sleep.memory_mb, sleep.architecture) == (1.0, 128, "x86_64")


def test_parameters_and_environment_are_resolved(functions) -> None:  # type: ignore[no-untyped-def]
    echo = functions["EchoFunction"]
    # Globals variables merged with the function's, !Ref and !Sub resolved, overrides applied.
    assert dict(echo.environment) == {"GREETING": "howdy", "STAGE": "stage-dev", "OWN": "own-value"}
    defaults = load_functions(FIXTURE_TEMPLATE)
    assert defaults["EchoFunction"].environment["GREETING"] == "hello"


def test_code_and_local_layers_are_absolute_dirs_in_order(functions) -> None:  # type: ignore[no-untyped-def]
    echo = functions["EchoFunction"]
    assert echo.code_dir == FIXTURE_APP / "src"
    assert echo.handler == "echo.handler"
    stream = functions["StreamFunction"]
    assert stream.layer_dirs == (FIXTURE_APP / "deps_layer", FIXTURE_APP / "wrapper_layer")


def test_remote_layers_keep_their_arn_and_position() -> None:
    echo = load_functions(FIXTURE_TEMPLATE)["EchoFunction"]
    assert echo.layer_dirs == (FIXTURE_APP / "deps_layer",)
    [(position, arn)] = echo.remote_layers
    assert position == 1 and "AWSLambdaPowertoolsPythonV3" in arn


def test_function_url_config(functions) -> None:  # type: ignore[no-untyped-def]
    assert functions["EchoFunction"].url == FunctionUrl(
        auth_type="AWS_IAM",
        invoke_mode="BUFFERED",
        cors=CorsConfig(
            allow_origins=("https://example.com",),
            allow_methods=("GET", "POST"),
            allow_headers=("content-type",),
            expose_headers=("x-request-id",),
            allow_credentials=True,
            max_age=300,
        ),
    )
    assert functions["StreamFunction"].url == FunctionUrl("NONE", "RESPONSE_STREAM", None)
    assert functions["SleepFunction"].url is None


@pytest.mark.parametrize(
    "overrides",
    [
        "Greeting=hi StageName=prod",
        "ParameterKey=Greeting,ParameterValue=hi ParameterKey=StageName,ParameterValue=prod",
        {"Greeting": "hi", "StageName": "prod"},
    ],
)
def test_parameter_overrides_are_taken_as_sam_takes_them(overrides: object) -> None:
    assert parse_parameter_overrides(overrides) == {"Greeting": "hi", "StageName": "prod"}  # type: ignore[arg-type]


def test_parameter_overrides_from_a_file(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("Greeting: from-file\n")
    functions = load_functions(FIXTURE_TEMPLATE, f"file://{params}")
    assert functions["SleepFunction"].environment["GREETING"] == "from-file"


def test_a_missing_template_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="Template not found"):
        load_functions(tmp_path / "nope.yaml")


def test_resources_whose_condition_is_false_are_not_served() -> None:
    # SAM CLI's providers ignore Conditions; CloudFormation would not create these twins.
    project = Path(__file__).resolve().parents[2] / "template.yaml"
    twins = {"BufferedRawTextFunction", "BufferedSseFunction", "BufferedJsonlFunction"}
    assert not twins & set(load_functions(project))
    assert twins <= set(load_functions(project, "DeployBufferedTwins=true"))


MANAGED_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    CodeUri: src/
    Handler: app.handler
    CapacityProviderConfig:
      Arn: !GetAtt Provider.Arn
      PerExecutionEnvironmentMaxConcurrency: !Ref Concurrency
Parameters:
  Concurrency: {Type: Number, Default: 8}
Resources:
  Provider:
    Type: AWS::Serverless::CapacityProvider
    Properties:
      VpcConfig: {SubnetIds: [subnet-1], SecurityGroupIds: [sg-1]}
  FromGlobals:
    Type: AWS::Serverless::Function
  OwnValue:
    Type: AWS::Serverless::Function
    Properties:
      CapacityProviderConfig:
        Arn: arn:aws:lambda:us-east-1:123456789012:capacity-provider:p
        PerExecutionEnvironmentMaxConcurrency: 3
  MergedWithGlobals:
    Type: AWS::Serverless::Function
    Properties:
      CapacityProviderConfig:
        ExecutionEnvironmentMemoryGiBPerVCpu: 4
  Raw:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.13
      Handler: app.handler
      Code: src/
      Role: arn:aws:iam::123456789012:role/r
      CapacityProviderConfig:
        LambdaManagedInstancesCapacityProviderConfig:
          CapacityProviderArn: arn:aws:lambda:us-east-1:123456789012:capacity-provider:p
          PerExecutionEnvironmentMaxConcurrency: 5
"""


def test_managed_instances_concurrency_from_the_function_or_globals(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    template = tmp_path / "template.yaml"
    template.write_text(MANAGED_TEMPLATE)
    functions = load_functions(template, "Concurrency=6")
    assert functions["FromGlobals"].per_environment_concurrency == 6
    assert functions["OwnValue"].per_environment_concurrency == 3
    assert functions["MergedWithGlobals"].per_environment_concurrency == 6
    assert functions["Raw"].per_environment_concurrency == 5
    plain = load_functions(FIXTURE_TEMPLATE)["EchoFunction"]
    assert plain.per_environment_concurrency is None


def test_managed_instances_without_a_concurrency_take_pythons_default(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    template = tmp_path / "template.yaml"
    template.write_text(
        MANAGED_TEMPLATE.replace(
            "      PerExecutionEnvironmentMaxConcurrency: !Ref Concurrency\n", ""
        )
    )
    assert load_functions(template)["FromGlobals"].per_environment_concurrency == 16

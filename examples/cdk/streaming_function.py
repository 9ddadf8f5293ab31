"""A CDK construct for a Python function that streams its response: the lambda-streaming layer,
the exec wrapper variable, and a Function URL in RESPONSE_STREAM mode. Copy it into your app."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

WRAPPER = "/opt/stream-bootstrap"  # where the layer puts its exec wrapper


class StreamingFunction(Construct):
    """``function`` and its ``url``; ``props`` go to ``lambda_.Function`` (memory, timeout...)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        streaming_layer_arn: str,
        code: lambda_.Code,
        handler: str,
        runtime: lambda_.Runtime = lambda_.Runtime.PYTHON_3_13,
        auth_type: lambda_.FunctionUrlAuthType = lambda_.FunctionUrlAuthType.AWS_IAM,
        **props: object,
    ) -> None:
        super().__init__(scope, construct_id)
        layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "StreamingLayer", streaming_layer_arn
        )
        environment = dict(props.pop("environment", None) or {})  # type: ignore[call-overload]
        environment["AWS_LAMBDA_EXEC_WRAPPER"] = WRAPPER
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=runtime,
            handler=handler,
            code=code,
            layers=[layer, *props.pop("layers", [])],  # type: ignore[misc]
            environment=environment,
            **props,  # type: ignore[arg-type]
        )
        self.url = self.function.add_function_url(
            auth_type=auth_type, invoke_mode=lambda_.InvokeMode.RESPONSE_STREAM
        )

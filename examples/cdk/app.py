"""A CDK app with one streaming function: ``cdk synth -c streaming_layer_arn=ARN``."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from streaming_function import StreamingFunction

HERE = Path(__file__).resolve().parent


class StreamingStack(cdk.Stack):
    def __init__(self, scope: cdk.App, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        arn = self.node.try_get_context("streaming_layer_arn")
        if not arn:
            raise SystemExit(
                "set the lambda-streaming layer's ARN: cdk synth -c streaming_layer_arn=arn:aws:"
                "lambda:REGION:ACCOUNT:layer:lambda-streaming:N (the LayerArn output of its stack)"
            )
        streaming = StreamingFunction(
            self,
            "Stream",
            streaming_layer_arn=arn,
            code=lambda_.Code.from_asset(str(HERE / "src")),
            handler="app.handler",
            architecture=lambda_.Architecture.ARM_64,
            timeout=cdk.Duration.seconds(30),
        )
        cdk.CfnOutput(self, "StreamUrl", value=streaming.url.url)


app = cdk.App()
StreamingStack(app, "StreamingStack")
app.synth()

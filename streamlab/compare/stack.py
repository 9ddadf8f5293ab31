"""A deployed stack's URLs and auth type, from CloudFormation with boto3."""

from __future__ import annotations

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from streamlab.compare.signing import SigV4
from streamlab.compare.targets import Front, Target, targets_from_outputs


def stack_targets(stack_name: str, region: str | None = None, front: Front = "url") -> list[Target]:
    """Outputs name the URLs; ``FunctionUrlAuthType`` and ``RestApiAuthorizer`` say whether
    to sign (for ``lambda`` and ``execute-api``)."""
    client = boto3.client("cloudformation", region_name=region)
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except (BotoCoreError, ClientError) as error:
        raise LookupError(f"cannot read stack {stack_name}: {error}") from error
    if not stacks:
        raise LookupError(f"no stack named {stack_name}")
    stack = stacks[0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    auth = rest_auth = None
    region = region or client.meta.region_name
    if parameters.get("FunctionUrlAuthType", "AWS_IAM") == "AWS_IAM":
        auth = SigV4.from_environment(region)
    if front == "rest" and parameters.get("RestApiAuthorizer", "AWS_IAM") == "AWS_IAM":
        rest_auth = SigV4.from_environment(region, service="execute-api")
    return targets_from_outputs(outputs, auth, front, rest_auth)

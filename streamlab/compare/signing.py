"""SigV4 by botocore as requests auth: service ``lambda`` for ``AWS_IAM`` Function URLs,
``execute-api`` for ``AWS_IAM`` REST API methods."""

from __future__ import annotations

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests import PreparedRequest
from requests.auth import AuthBase


class SigV4(AuthBase):
    """Signs each request just before it is sent, so timestamps are fresh on every run."""

    def __init__(self, credentials: Credentials, region: str, service: str = "lambda") -> None:
        self._credentials = credentials
        self._region = region
        self._service = service

    @classmethod
    def from_environment(cls, region: str | None = None, service: str = "lambda") -> SigV4:
        """The default credential chain (env, profile, SSO, instance role), as the CLI uses."""
        session = botocore.session.get_session()
        credentials = session.get_credentials()
        if credentials is None:
            raise LookupError("no AWS credentials found to sign AWS_IAM Function URL requests")
        region = region or session.get_config_variable("region")
        if not region:
            raise LookupError("no AWS region configured (AWS_REGION or --region)")
        return cls(credentials, region, service)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        aws_request = AWSRequest(
            method=request.method,
            url=request.url,
            data=request.body or b"",
            headers={k: v for k, v in request.headers.items() if k.lower() != "connection"},
        )
        credentials = self._credentials.get_frozen_credentials()
        SigV4Auth(credentials, self._service, self._region).add_auth(aws_request)
        request.headers.update(dict(aws_request.headers.items()))
        return request

"""SigV4 verification for ``AWS_IAM`` Function URLs and the Lambda API.

The server recomputes the signature with botocore's own signer over the request as it
arrived (its method, raw path and query, the headers the client says it signed, the body)
using the local credentials, and compares. Nothing about the canonical form is re-invented
here, so a client signing with botocore and this check cannot disagree on the algorithm.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import botocore.session
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

_AUTH_HEADER = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_UNHASHED_PAYLOADS = frozenset({"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})


class SignatureError(Exception):
    """Why a request is not accepted; ``code`` is the AWS error code for APIs that report one."""

    def __init__(self, message: str, code: str = "InvalidSignatureException") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class VerifiedCaller:
    access_key: str
    region: str


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an incoming request that its signature covers."""

    method: str
    url: str  # scheme://host + the raw path and query as they arrived
    headers: tuple[tuple[str, str], ...]
    body: bytes


class _ExactHeadersSigV4(SigV4Auth):
    """botocore's signer, restricted to the headers the client listed as signed.

    botocore normally picks the headers itself (dropping e.g. User-Agent); a verifier must
    sign exactly what the client signed, whatever client it was.
    """

    def __init__(
        self, credentials: ReadOnlyCredentials, service: str, region: str, signed: list[str]
    ):
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        selected = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or []:
                selected[name] = value
        return selected


class SigV4Verifier:
    """Accepts requests signed for ``service`` with the local credentials."""

    def __init__(
        self,
        credentials: ReadOnlyCredentials | None = None,
        *,
        service: str = "lambda",
        max_skew: timedelta = timedelta(minutes=15),
    ) -> None:
        self._credentials = credentials
        self._loaded = credentials is not None
        self.service = service
        self.max_skew = max_skew

    def _local_credentials(self) -> ReadOnlyCredentials | None:
        """The credentials botocore's default chain finds (env, profile, ...), loaded once."""
        if not self._loaded:
            found = botocore.session.get_session().get_credentials()
            self._credentials = found.get_frozen_credentials() if found else None
            self._loaded = True
        return self._credentials

    def for_service(self, service: str) -> SigV4Verifier:
        """The same credentials, for requests signed for another service (``execute-api``)."""
        twin = SigV4Verifier(self._credentials, service=service, max_skew=self.max_skew)
        twin._loaded = self._loaded
        return twin

    @property
    def has_credentials(self) -> bool:
        return self._local_credentials() is not None

    def verify(self, request: SignedRequest, now: datetime | None = None) -> VerifiedCaller:
        headers = HTTPHeaders()
        for name, value in request.headers:
            headers[name] = value
        authorization = headers.get("authorization")
        if not authorization:
            raise SignatureError(
                "Missing Authentication Token", "MissingAuthenticationTokenException"
            )
        match = _AUTH_HEADER.match(authorization.strip())
        if not match:
            raise SignatureError("Authorization header is not a valid AWS4-HMAC-SHA256 header")
        access_key, date, region, service, terminator = _split_credential(match["credential"])
        if service != self.service or terminator != "aws4_request":
            raise SignatureError(
                f"Credential should be scoped to correct service: '{self.service}'"
            )
        credentials = self._local_credentials()
        if credentials is None:
            raise SignatureError(
                "no local AWS credentials to verify signatures with (set AWS_ACCESS_KEY_ID or "
                "a profile, or serve with --no-auth)",
                "UnrecognizedClientException",
            )
        if not hmac.compare_digest(access_key, credentials.access_key or ""):
            raise SignatureError(
                "The security token included in the request is invalid.",
                "UnrecognizedClientException",
            )
        token = headers.get("x-amz-security-token")
        if (token or credentials.token) and not hmac.compare_digest(
            token or "", credentials.token or ""
        ):
            raise SignatureError(
                "The security token included in the request is invalid.",
                "UnrecognizedClientException",
            )
        amz_date = headers.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
        except ValueError:
            raise SignatureError("Missing or malformed X-Amz-Date header") from None
        if not amz_date.startswith(date):
            raise SignatureError("Credential date does not match X-Amz-Date")
        current = now or datetime.now(UTC)
        if abs(current - signed_at) > self.max_skew:
            raise SignatureError(
                f"Signature expired: {amz_date} is now earlier or later than allowed "
                f"({current.strftime(SIGV4_TIMESTAMP)} +/- {self.max_skew})"
            )
        signed = match["signed"].lower().split(";")
        if "host" not in signed:
            raise SignatureError("'Host' must be a signed header")
        missing = [name for name in signed if name not in headers]
        if missing:
            raise SignatureError(f"signed headers missing from the request: {', '.join(missing)}")
        content_sha = headers.get("x-amz-content-sha256")
        if content_sha and content_sha not in _UNHASHED_PAYLOADS:
            actual = hashlib.sha256(request.body).hexdigest()
            if not hmac.compare_digest(content_sha, actual):
                raise SignatureError(
                    "The provided 'x-amz-content-sha256' header does not match what was computed."
                )
        expected = _signature(request, signed, credentials, self.service, region, amz_date)
        if not hmac.compare_digest(expected, match["signature"]):
            raise SignatureError(
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method."
            )
        return VerifiedCaller(access_key=access_key, region=region)


def _split_credential(credential: str) -> tuple[str, str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5:
        raise SignatureError(f"malformed Credential in Authorization header: {credential!r}")
    return parts[0], parts[1], parts[2], parts[3], parts[4]


def _signature(
    request: SignedRequest,
    signed: list[str],
    credentials: ReadOnlyCredentials,
    service: str,
    region: str,
    amz_date: str,
) -> str:
    rebuilt = AWSRequest(method=request.method, url=request.url, data=request.body)
    for name, value in request.headers:
        if name.lower() in signed:
            rebuilt.headers[name] = value
    rebuilt.context["timestamp"] = amz_date
    signer = _ExactHeadersSigV4(credentials, service, region, signed)
    canonical = signer.canonical_request(rebuilt)
    return signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt)

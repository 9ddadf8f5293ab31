"""SigV4 verification: requests signed by botocore pass, anything else fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from streamlab.emulator.auth import SignatureError, SignedRequest, SigV4Verifier

KEY = ReadOnlyCredentials("AKIDLOCAL", "local-secret", None)
URL = "http://127.0.0.1:3000/Fn/some%20path?b=2&a=1"


def signed(
    credentials: Credentials | None = None,
    *,
    body: bytes = b'{"x": 1}',
    service: str = "lambda",
    region: str = "eu-west-1",
    extra: dict[str, str] | None = None,
) -> SignedRequest:
    creds = credentials or Credentials(KEY.access_key, KEY.secret_key)
    request = AWSRequest(method="POST", url=URL, data=body, headers=extra or {})
    SigV4Auth(creds, service, region).add_auth(request)
    headers = [("Host", "127.0.0.1:3000"), *request.headers.items()]
    return SignedRequest(method="POST", url=URL, headers=tuple(headers), body=body)


def with_header(request: SignedRequest, name: str, value: str | None) -> SignedRequest:
    headers = tuple((n, v) for n, v in request.headers if n.lower() != name.lower())
    if value is not None:
        headers += ((name, value),)
    return SignedRequest(request.method, request.url, headers, request.body)


def test_botocore_signature_is_accepted() -> None:
    caller = SigV4Verifier(KEY).verify(signed(extra={"X-Custom": "v"}))
    assert caller.access_key == "AKIDLOCAL"
    assert caller.region == "eu-west-1"


def test_unsigned_request_is_rejected() -> None:
    request = SignedRequest("POST", URL, (("Host", "127.0.0.1:3000"),), b"")
    with pytest.raises(SignatureError) as info:
        SigV4Verifier(KEY).verify(request)
    assert info.value.code == "MissingAuthenticationTokenException"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: SignedRequest(r.method, r.url, r.headers, b'{"x": 2}'),
        lambda r: SignedRequest("PUT", r.url, r.headers, r.body),
        lambda r: SignedRequest(r.method, r.url.replace("a=1", "a=9"), r.headers, r.body),
        lambda r: SignedRequest(r.method, r.url.replace("/Fn/", "/Other/"), r.headers, r.body),
        lambda r: with_header(r, "Host", "127.0.0.1:9999"),
    ],
)
def test_any_change_breaks_the_signature(tamper) -> None:
    with pytest.raises(SignatureError, match="signature we calculated"):
        SigV4Verifier(KEY).verify(tamper(signed()))


def test_wrong_secret_wrong_key_wrong_service() -> None:
    verifier = SigV4Verifier(KEY)
    with pytest.raises(SignatureError, match="signature we calculated"):
        verifier.verify(signed(Credentials("AKIDLOCAL", "other-secret")))
    with pytest.raises(SignatureError) as info:
        verifier.verify(signed(Credentials("AKIDOTHER", "local-secret")))
    assert info.value.code == "UnrecognizedClientException"
    with pytest.raises(SignatureError, match="service"):
        verifier.verify(signed(service="s3"))


def test_clock_skew_window() -> None:
    request = signed()
    verifier = SigV4Verifier(KEY, max_skew=timedelta(minutes=5))
    now = datetime.now(UTC)
    verifier.verify(request, now=now + timedelta(minutes=4))
    with pytest.raises(SignatureError, match="expired"):
        verifier.verify(request, now=now + timedelta(minutes=6))
    with pytest.raises(SignatureError, match="expired"):
        verifier.verify(request, now=now - timedelta(minutes=6))


def test_session_token_must_match() -> None:
    with_token = ReadOnlyCredentials("AKIDLOCAL", "local-secret", "token-1")
    request = signed(Credentials("AKIDLOCAL", "local-secret", "token-1"))
    assert any(n.lower() == "x-amz-security-token" for n, _ in request.headers)
    SigV4Verifier(with_token).verify(request)
    with pytest.raises(SignatureError):
        SigV4Verifier(ReadOnlyCredentials("AKIDLOCAL", "local-secret", "token-2")).verify(request)
    with pytest.raises(SignatureError):
        SigV4Verifier(KEY).verify(request)  # local credentials have no token


def test_content_sha256_header_must_match_body() -> None:
    import hashlib

    body = b"payload"
    good = signed(body=body, extra={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    SigV4Verifier(KEY).verify(good)
    lying = SignedRequest(good.method, good.url, good.headers, b"other")
    with pytest.raises(SignatureError, match="x-amz-content-sha256"):
        SigV4Verifier(KEY).verify(lying)


def test_no_local_credentials_rejects_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = SigV4Verifier()
    monkeypatch.setattr(verifier, "_local_credentials", lambda: None)
    with pytest.raises(SignatureError, match="--no-auth"):
        verifier.verify(signed())

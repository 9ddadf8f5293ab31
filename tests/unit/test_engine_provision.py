"""What the emulator installs for a function: layer ARNs to Powertools releases (which
interpreter runs it: test_engine_interpreters.py)."""

from __future__ import annotations

import pytest

from streamlab.emulator import provision

POWERTOOLS = (
    "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64"
)


@pytest.mark.parametrize(
    ("number", "release"), [(1, "3.0.0"), (2, "3.1.0"), (5, "3.4.0"), (6, "3.4.1"), (27, "3.23.0")]
)
def test_powertools_layer_versions_map_to_releases(number: int, release: str) -> None:
    assert provision.powertools_version(f"{POWERTOOLS}:{number}") == release


def test_other_arns_are_not_powertools() -> None:
    assert not provision.is_powertools_arn("arn:aws:lambda:us-east-1:123456789012:layer:Mine:1")
    # the Powertools layer name under another account is somebody else's layer
    other = POWERTOOLS.replace("017000801446", "123456789012")
    assert not provision.is_powertools_arn(f"{other}:3")
    # V2 layers carry Powertools 2.x: not resolved
    assert not provision.is_powertools_arn(
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2:79"
    )


def test_a_newer_layer_version_is_powertools_without_a_known_release() -> None:
    arn = f"{POWERTOOLS}:{len(provision.POWERTOOLS_V3_RELEASES) + 5}"
    assert provision.is_powertools_arn(arn)
    assert provision.powertools_version(arn) is None

"""What the emulator installs for a function: layer ARNs to Powertools releases, and which
interpreter runs the function."""

from __future__ import annotations

from pathlib import Path

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


def test_an_interpreter_that_does_not_run_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pyenv shim for a version that is not installed exists on PATH and fails."""
    shim = tmp_path / "python3.97"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.97: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(provision, "_interpreters", {})
    monkeypatch.setattr(provision, "_warned", set())
    warnings: list[str] = []
    first = provision.find_interpreter("python3.97", warnings.append)
    again = provision.find_interpreter("python3.97", warnings.append)
    assert first == again == provision.local_interpreter()
    assert len(warnings) == 1
    assert "python3.97" in warnings[0] and f"Python {first.version}" in warnings[0]


def test_a_working_interpreter_of_the_runtime_version_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = provision.local_interpreter()
    link = tmp_path / f"python{local.version}"
    link.symlink_to(local.executable)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(provision, "_interpreters", {})
    warnings: list[str] = []
    found = provision.find_interpreter(f"python{local.version}", warnings.append)
    assert found.version == local.version and not warnings

"""Each function of one template runs on its own Runtime's Python, found under pyenv even when
pyenv has not put it on PATH (as on the development machines), with no warning."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from streamlab.emulator import interpreters
from streamlab.emulator.engine import Engine
from tests.support.engine_helpers import collect, run

TEMPLATE = Path(__file__).resolve().parents[1] / "fixtures" / "interpreters_app" / "template.yaml"


def _pyenv_has(*versions: str) -> bool:
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return False
    root = Path(subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip())
    installed = {path.name.rsplit(".", 1)[0] for path in (root / "versions").glob("3.*.*")}
    return set(versions) <= installed


@pytest.mark.skipif(not _pyenv_has("3.12", "3.13"), reason="pyenv's 3.12 and 3.13 not installed")
def test_python312_and_python313_functions_run_on_their_own_versions(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(interpreters, "_interpreters", {})  # look again, as a fresh emulator
    monkeypatch.setattr(interpreters, "_warned", set())
    engine = Engine.from_template(TEMPLATE)

    async def scenario() -> dict[str, dict[str, str]]:
        async with engine:
            results = {}
            for name in ("Python312Function", "Python313Function"):
                done = await collect(engine.invoke(name, b"{}"))
                assert done.end.error is None, done.end.error
                results[name] = json.loads(done.body)
            return results

    results = run(scenario, timeout=110)  # the first run installs each runtime's SDK
    assert results["Python312Function"] == {
        "version": "3.12",
        "execution_env": "AWS_Lambda_python3.12",
    }
    assert results["Python313Function"] == {
        "version": "3.13",
        "execution_env": "AWS_Lambda_python3.13",
    }
    assert "WARNING" not in capfd.readouterr().err

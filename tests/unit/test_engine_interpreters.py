"""Which interpreter runs a function: the Runtime's version from PATH, pyenv, uv or asdf, and a
warning naming where it looked only when none has it. Each place is a fake here (scripts that
answer as those tools and interpreters do); the real pyenv installs are used by
tests/integration/test_engine_interpreters.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamlab.emulator import interpreters

WANT = "3.97"  # a version no machine has


def fake_python(path: Path, version: str = WANT) -> Path:
    """An executable that answers the probe as Python ``version`` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version}\necho {path}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No tool and no install anywhere: an empty PATH directory and HOME."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("PYENV_ROOT", "ASDF_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(interpreters, "_interpreters", {})
    monkeypatch.setattr(interpreters, "_warned", set())
    return tmp_path


def find(warnings: list[str]) -> interpreters.Interpreter:
    return interpreters.find_interpreter(f"python{WANT}", warnings.append)


def test_none_found_falls_back_with_one_warning_naming_every_place(clean: Path) -> None:
    shim = clean / "bin" / f"python{WANT}"  # a pyenv shim for a version not selected: fails
    shim.write_text(f"#!/bin/sh\necho 'pyenv: python{WANT}: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    warnings: list[str] = []
    first, again = find(warnings), find(warnings)
    assert first == again == interpreters.local_interpreter()
    assert len(warnings) == 1
    text = warnings[0]
    assert f"python{WANT}" in text and f"local Python {first.version}" in text
    for place in ("PATH", "pyenv (not installed)", "uv (not installed)", "asdf ("):
        assert place in text, text


def test_on_path(clean: Path) -> None:
    python = fake_python(clean / "bin" / f"python{WANT}")
    warnings: list[str] = []
    assert find(warnings) == interpreters.Interpreter(str(python), WANT) and not warnings


def test_in_pyenv_without_pyenv_on_path(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = clean / "pyenv"
    monkeypatch.setenv("PYENV_ROOT", str(root))
    fake_python(root / "versions" / f"{WANT}.1" / "bin" / f"python{WANT}")
    newest = fake_python(root / "versions" / f"{WANT}.10" / "bin" / f"python{WANT}")
    fake_python(root / "versions" / f"{WANT}.11t" / "bin" / f"python{WANT}")  # free-threaded
    warnings: list[str] = []
    assert find(warnings).executable == str(newest) and not warnings


def test_in_pyenv_root_as_pyenv_reports_it(clean: Path) -> None:
    root = clean / "elsewhere"
    python = fake_python(root / "versions" / f"{WANT}.2" / "bin" / f"python{WANT}")
    pyenv = clean / "bin" / "pyenv"
    pyenv.write_text(f'#!/bin/sh\n[ "$1" = root ] && echo {root}\n')
    pyenv.chmod(0o755)
    assert find([]).executable == str(python)


def test_from_uv(clean: Path) -> None:
    python = fake_python(clean / "uv-python" / f"python{WANT}")
    uv = clean / "bin" / "uv"
    uv.write_text(f'#!/bin/sh\n[ "$*" = "python find {WANT}" ] && echo {python} || exit 2\n')
    uv.chmod(0o755)
    warnings: list[str] = []
    assert find(warnings).executable == str(python) and not warnings


def test_in_asdf(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = clean / "asdf-data"
    monkeypatch.setenv("ASDF_DATA_DIR", str(data))
    python = fake_python(data / "installs" / "python" / f"{WANT}.3" / "bin" / f"python{WANT}")
    assert find([]).executable == str(python)


def test_a_candidate_of_another_version_is_not_used(clean: Path) -> None:
    fake_python(clean / "bin" / f"python{WANT}", version="3.96")
    warnings: list[str] = []
    assert find(warnings) == interpreters.local_interpreter() and len(warnings) == 1

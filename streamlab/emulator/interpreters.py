"""Which Python runs a function: the template's ``Runtime`` version, wherever the user keeps it.

A ``python3.13`` function should run on 3.13 locally, as on Lambda. People install Python
versions with pyenv, uv or asdf, often without putting them on PATH (pyenv's shims for a
version not selected exist and fail), so each place is asked in turn:

1. ``python3.X`` on PATH;
2. pyenv: ``$(pyenv root)/versions/3.X.*`` (``PYENV_ROOT`` or ``~/.pyenv`` without ``pyenv``);
3. uv: ``uv python find 3.X`` (its managed Pythons and the ones it discovers);
4. asdf: ``${ASDF_DATA_DIR:-~/.asdf}/installs/python/3.X.*``.

Every candidate is run once to check that it works and is that version. Only when none is
does the function fall back to the Python the emulator runs on, with one warning naming where
it looked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

Notify = Callable[[str], None]

_PROBE = "import sys; print('%d.%d' % sys.version_info[:2]); print(sys._base_executable)"
_TIMEOUT_S = 20


@dataclass(frozen=True)
class Interpreter:
    """A Python to run functions with: the executable and its ``X.Y``."""

    executable: str
    version: str


_interpreters: dict[str, Interpreter] = {}
_warned: set[tuple[str, str]] = set()


def local_interpreter() -> Interpreter:
    """The Python the emulator runs on, outside any virtual environment."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return Interpreter(base, "{}.{}".format(*sys.version_info[:2]))


def find_interpreter(runtime: str, notify: Notify) -> Interpreter:
    """The interpreter for ``runtime`` (``python3.X``), found once per version; else the local
    Python, with one warning that says where it looked."""
    want = runtime.removeprefix("python")
    found = _interpreters.get(want)
    if found is None:
        places: list[str] = []
        for place, candidates in _places(want):
            places.append(place)
            found = next(filter(None, (_probe(path, want) for path in candidates)), None)
            if found is not None:
                break
        if found is None:
            found = local_interpreter()
            if (want, found.version) not in _warned:
                _warned.add((want, found.version))
                notify(
                    f"WARNING: python{want} (the template's Runtime {runtime}) was not found "
                    f"(looked on {'; '.join(places)}); functions run with the local Python "
                    f"{found.version} ({found.executable}) instead"
                )
        _interpreters[want] = found
    return found


def _places(version: str) -> Iterator[tuple[str, Iterator[str]]]:
    """Where to look, in order: a description for the warning and the candidates found."""
    command = f"python{version}"
    yield f"PATH ({command})", iter(filter(None, [shutil.which(command)]))
    pyenv = _pyenv_root()
    yield (
        f"pyenv ({pyenv / 'versions'})" if pyenv else "pyenv (not installed)",
        _installs(pyenv / "versions", version) if pyenv else iter(()),
    )
    uv = shutil.which("uv")
    yield (
        f"uv (uv python find {version})" if uv else "uv (not installed)",
        _uv_find(uv, version) if uv else iter(()),
    )
    asdf = Path(os.environ.get("ASDF_DATA_DIR") or Path.home() / ".asdf") / "installs" / "python"
    yield f"asdf ({asdf})", _installs(asdf, version)


def _pyenv_root() -> Path | None:
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        answer = _run([pyenv, "root"])
        if answer:
            return Path(answer.strip())
    configured = os.environ.get("PYENV_ROOT")
    default = Path.home() / ".pyenv"
    if configured:
        return Path(configured)
    return default if default.is_dir() else None


def _installs(directory: Path, version: str) -> Iterator[str]:
    """``<directory>/3.X.N/bin/python3.X`` for every release N, newest first (pyenv and asdf
    name their installs so; pre-releases and free-threaded builds are left out)."""
    pattern = re.compile(rf"^{re.escape(version)}\.(\d+)$")
    try:
        names = [entry.name for entry in directory.iterdir()]
    except OSError:
        return
    matches = [(int(m[1]), name) for name in names if (m := pattern.match(name))]
    for _, name in sorted(matches, reverse=True):
        executable = directory / name / "bin" / f"python{version}"
        if executable.exists():
            yield str(executable)


def _uv_find(uv: str, version: str) -> Iterator[str]:
    answer = _run([uv, "python", "find", version])
    if answer and answer.strip():
        yield answer.strip().splitlines()[-1]


def _probe(path: str, want: str) -> Interpreter | None:
    """``path`` if it runs and is Python ``want``; its base executable (outside any venv)."""
    answer = _run([path, "-c", _PROBE])
    lines = (answer or "").split()
    if len(lines) != 2 or lines[0] != want:
        return None
    return Interpreter(lines[1], want)


def _run(command: list[str]) -> str | None:
    """A command's output, or None when it cannot run or fails."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None

"""The layer zip and the wheel, built as ``make layer`` and ``make wheel`` build them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from streamlab.bench.deployed import unzip_layer

ROOT = Path(__file__).resolve().parents[2]
LAYER_SOURCES = ROOT / "layers" / "streaming"
BUILD_LAYER = LAYER_SOURCES / "build_layer.py"


def version() -> str:
    text = (LAYER_SOURCES / "python" / "lambda_streaming" / "__init__.py").read_text()
    return text.split('__version__ = "', 1)[1].split('"', 1)[0]


def build_layer_zip(destination: Path) -> str:
    """Runs the build script (as ``make layer`` does); returns what it printed."""
    done = subprocess.run(
        [sys.executable, str(BUILD_LAYER), "--zip", str(destination)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def build_wheel(directory: Path) -> Path:
    """The wheel through pip and the build backend (as ``make wheel`` does, without build
    isolation: the dev install has hatchling)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(directory),
            str(LAYER_SOURCES),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = directory.glob("lambda_streaming-*.whl")
    return wheel


def unzip(archive: Path, target: Path) -> Path:
    """Extracts with the permissions the zip holds (as Lambda does; zipfile alone drops them)."""
    unzip_layer(archive, target)
    return target

"""Builds the lambda-streaming layer: the ``/opt`` layout, as a zip or into a directory.

    python3 build_layer.py --zip dist/lambda-streaming-<version>-layer.zip   (make layer)
    python3 build_layer.py --dir "$ARTIFACTS_DIR"                            (sam build)

The layer holds ``stream-bootstrap`` (executable) at its root and ``python/lambda_streaming/``.
Lambda mounts layers read-only, so Python cannot cache compiled code there and would compile
every module on each cold start: the build adds unchecked-hash ``.pyc`` files (Python neither
stats the sources nor checks timestamps) compiled by every CPython 3.11-3.14 this machine has
(on PATH, under pyenv, or known to uv), side by side in ``__pycache__``, so whichever of those
runtimes the layer lands on skips compiling. Without any such interpreter the sources ship
alone and still work.

Reproducible: the same sources and interpreters give the same bytes. Each interpreter compiles
the files in one fixed order with ``PYTHONHASHSEED=0`` (marshal's output depends on hashing and
on reference counts, which that fixes), names the sources by their ``/opt/python`` path, and the
zip has sorted entries, fixed timestamps and fixed permissions.

Standard library only, so ``sam build`` runs it with whatever ``python3`` it finds.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "python" / "lambda_streaming"
WRAPPER = HERE / "stream-bootstrap"
VERSIONS = ("3.11", "3.12", "3.13", "3.14")
OPT_PYTHON = "/opt/python"  # where the sources are on Lambda: the name compiled into each .pyc
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold

# Run by each interpreter: compile every source below argv[1], in sorted order.
_COMPILE = """\
import os, py_compile, sys
root, prefix = sys.argv[1], sys.argv[2]
sources = sorted(
    os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".py")
)
for source in sources:
    relative = os.path.relpath(source, root).replace(os.sep, "/")
    py_compile.compile(
        source,
        dfile=prefix + "/" + relative,
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
"""
_PROBE = "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"


def version() -> str:
    """The distribution's version, read from the package without importing it."""
    text = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if found is None:
        raise SystemExit("build_layer: no __version__ in lambda_streaming/__init__.py")
    return found[1]


def interpreters() -> dict[str, str]:
    """Every CPython 3.11-3.14 found, one executable per version (the first found wins)."""
    found: dict[str, str] = {}
    for candidate in _candidates():
        probed = _probe(candidate)
        if probed is not None and probed not in found:
            found[probed] = candidate
    return dict(sorted(found.items(), key=lambda item: tuple(map(int, item[0].split(".")))))


def _candidates() -> list[str]:
    names = [sys.executable]
    names += [shutil.which(f"python{v}") or "" for v in VERSIONS]
    names += [shutil.which("python3") or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for v in VERSIONS:
        names += [str(p) for p in sorted((pyenv_root / "versions").glob(f"{v}*/bin/python{v}"))]
    uv = shutil.which("uv")
    if uv:
        for v in VERSIONS:
            try:
                done = subprocess.run(
                    [uv, "python", "find", "--no-project", v],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                continue
            if done.returncode == 0 and done.stdout.strip():
                names.append(done.stdout.strip())
    return [n for n in dict.fromkeys(names) if n]


def _probe(executable: str) -> str | None:
    """``X.Y`` if ``executable`` runs and is CPython 3.11-3.14 (pyenv shims may exist and fail)."""
    try:
        done = subprocess.run(
            [executable, "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 2 or parts[0] != "cpython":
        return None
    return parts[1] if parts[1] in VERSIONS else None


def stage(root: Path, compilers: dict[str, str]) -> None:
    """The layer's files under ``root``: the wrapper, the sources, then each version's .pyc."""
    shutil.copyfile(WRAPPER, root / "stream-bootstrap")
    shutil.copytree(
        PACKAGE,
        root / "python" / "lambda_streaming",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        copy_function=shutil.copyfile,  # modes are set when the layer is written
    )
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    environment.pop("PYTHONPYCACHEPREFIX", None)  # .pyc beside the sources, nowhere else
    for executable in compilers.values():
        subprocess.run(
            [executable, "-I", "-c", _COMPILE, str(root / "python"), OPT_PYTHON],
            env=environment,
            check=True,
        )


def _entries(root: Path) -> list[tuple[str, Path]]:
    """Every file and directory under ``root`` as (posix path, path), sorted."""
    found = []
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory) / name
            found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def _mode(path: Path) -> int:
    return 0o755 if path.is_dir() or path.name == "stream-bootstrap" else 0o644


def write_zip(root: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, path in _entries(root):
            if path.is_dir():
                info = zipfile.ZipInfo(name + "/", date_time=ZIP_EPOCH)
                info.external_attr = (stat.S_IFDIR | _mode(path)) << 16 | 0x10  # MS-DOS dir bit
                data, method = b"", zipfile.ZIP_STORED
            else:
                info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                info.external_attr = (stat.S_IFREG | _mode(path)) << 16
                data, method = path.read_bytes(), zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix: Lambda reads the permissions above
            archive.writestr(info, data, compress_type=method, compresslevel=9)
    partial.replace(destination)


def write_dir(root: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for name, path in _entries(root):
        target = destination / name
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            shutil.copyfile(path, target)
        os.chmod(target, _mode(path))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--zip", type=Path, help="write the layer as this zip file")
    where.add_argument("--dir", type=Path, help="write the layer's files into this directory")
    args = parser.parse_args(argv)
    compilers = interpreters()
    with tempfile.TemporaryDirectory(prefix="lambda-streaming-layer-") as tmp:
        root = Path(tmp)
        stage(root, compilers)
        if args.zip is not None:
            write_zip(root, args.zip)
        else:
            write_dir(root, args.dir)
    built = args.zip if args.zip is not None else args.dir
    if compilers:
        pythons = ", ".join(f"{v} ({exe})" for v, exe in compilers.items())
        print(f"lambda-streaming {version()}: {built}, with .pyc for CPython {pythons}")
    else:
        print(
            f"lambda-streaming {version()}: {built}, sources only (no CPython 3.11-3.14 found "
            "to compile with; each cold start compiles them)"
        )


if __name__ == "__main__":
    main()

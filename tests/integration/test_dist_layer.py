"""``make layer``: the zip is reproducible, holds the /opt layout with .pyc for every CPython
3.11-3.14 here, and streams exactly as the source tree does once Lambda has unzipped it."""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.dist import BUILD_LAYER, LAYER_SOURCES, build_layer_zip, unzip, version
from tests.support.layer_process import HANDLERS, LAMBDA_ENV, stop
from tests.support.layer_runtime_api import RecordingRuntimeApi

PACKAGE = LAYER_SOURCES / "python" / "lambda_streaming"


def build_script():
    spec = importlib.util.spec_from_file_location("build_layer", BUILD_LAYER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def layer_zip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    destination = tmp_path_factory.mktemp("layer") / f"lambda-streaming-{version()}-layer.zip"
    return destination, build_layer_zip(destination)


def test_two_builds_give_the_same_bytes(layer_zip: tuple[Path, str], tmp_path: Path) -> None:
    first, _ = layer_zip
    second = tmp_path / first.name
    build_layer_zip(second)
    assert first.read_bytes() == second.read_bytes()


def test_the_zip_has_the_opt_layout_and_pyc_for_every_cpython_here(
    layer_zip: tuple[Path, str],
) -> None:
    archive, printed = layer_zip
    found = build_script().interpreters()
    assert sys.version_info[:2] >= (3, 11)
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in found  # this one at least
    for minor in found:
        assert f"{minor} (" in printed  # it says which versions it compiled for
    with zipfile.ZipFile(archive) as opened:
        infos = {info.filename: info for info in opened.infolist()}
        wrapper = infos["stream-bootstrap"]
        assert stat.S_IMODE(wrapper.external_attr >> 16) == 0o755
        sources = sorted(
            p.relative_to(LAYER_SOURCES).as_posix()
            for p in PACKAGE.rglob("*.py")
            if "__pycache__" not in p.parts
        )
        assert sources and all(name in infos for name in sources)
        assert not any("/content/" in name for name in infos)  # the app's code is not the layer's
        for source in sources:
            folder, name = source.rsplit("/", 1)
            for minor in found:
                tag = "cpython-" + minor.replace(".", "")
                pyc = f"{folder}/__pycache__/{name[:-3]}.{tag}.pyc"
                assert pyc in infos, pyc
                flags = int.from_bytes(opened.read(pyc)[4:8], "little")
                assert flags == 0b01, pyc  # hash-based, never checked against the source
        dates = {info.date_time for info in infos.values()}
        assert dates == {(1980, 1, 1, 0, 0, 0)}


# --- the unzipped layer on the wire ---------------------------------------------------------

CASES = [
    ("streaming.http", {}),
    ("streaming.raw", {}),
    ("streaming.iterable", {}),
    ("streaming.binary", {}),
    ("streaming.fail_before", {}),
    ("buffered.echo", {"a": 1}),
]


def wire(wrapper: Path, tmp: Path) -> list[bytes]:
    """Every byte of each result the runtime sent, one runtime per handler; request and
    invocation ids fixed so that two runs can be compared byte for byte."""
    results = []
    for number, (handler, event) in enumerate(CASES):
        with RecordingRuntimeApi() as api:
            process = subprocess.Popen(
                [str(wrapper), sys.executable, "/var/runtime/bootstrap.py"],
                env={
                    **{
                        k: v
                        for k, v in os.environ.items()
                        if not k.startswith(("AWS_", "LAMBDA_", "_HANDLER", "PYTEST", "STREAM_"))
                        and k != "PYTHONPATH"
                    },
                    **LAMBDA_ENV,
                    "AWS_LAMBDA_RUNTIME_API": api.address,
                    "_HANDLER": handler,
                    "LAMBDA_TASK_ROOT": str(HANDLERS),
                },
                cwd=str(tmp),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:
                request_id = f"00000000-0000-0000-0000-{number:012d}"
                api.push(event, request_id=request_id, invocation_id=f"{number:032x}")
                # each Runtime API listens on its own port: the Host header is all that differs
                raw = api.result(request_id).raw
                results.append(re.sub(rb"\r\nHost: [^\r]*", b"", raw, count=1))
            finally:
                stop(process)
    return results


def test_the_unzipped_layer_streams_the_same_bytes_as_the_sources(
    layer_zip: tuple[Path, str], tmp_path: Path
) -> None:
    archive, _ = layer_zip
    opt = unzip(archive, tmp_path / "opt")
    before = sorted(p.relative_to(opt) for p in opt.rglob("*"))
    from_zip = wire(opt / "stream-bootstrap", tmp_path)
    from_sources = wire(LAYER_SOURCES / "stream-bootstrap", tmp_path)
    assert from_zip == from_sources
    assert from_zip[0].endswith(b"6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n")
    assert b"/error HTTP/1.1" in from_zip[4] and b"ValueError" in from_zip[4]
    # Python found a .pyc for everything it imported from the layer: it wrote none of its own
    assert sorted(p.relative_to(opt) for p in opt.rglob("*")) == before

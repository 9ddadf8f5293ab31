"""The container example: not built here (AWS's base image cannot be pulled on this machine);
checked for what can drift: it copies the zip `make layer` writes, under its current name, into
/opt, restores the wrapper's executable bit and sets the wrapper variable."""

from __future__ import annotations

from pathlib import Path

from tests.support.dist import version

DOCKERFILE = Path(__file__).resolve().parents[2] / "examples" / "container" / "Dockerfile"


def test_the_dockerfile_takes_the_current_layer_zip_into_opt() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    assert "FROM public.ecr.aws/lambda/python:3.13" in lines
    assert f"ARG LAYER_ZIP=lambda-streaming-{version()}-layer.zip" in lines
    assert f"cp dist/lambda-streaming-{version()}-layer.zip" in DOCKERFILE.read_text()
    assert "RUN python3 -m zipfile -e /tmp/layer.zip /opt \\" in lines
    assert "&& chmod 0755 /opt/stream-bootstrap \\" in lines
    assert "ENV AWS_LAMBDA_EXEC_WRAPPER=/opt/stream-bootstrap \\" in lines
    assert (DOCKERFILE.parent / "app.py").is_file()

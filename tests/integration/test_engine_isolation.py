"""A function under the emulator sees only what Lambda gives it, through real processes and
sockets: a package of the developer's venv is an init error until the function bundles it;
Powertools comes from its layer's ARN; a header no HTTP response can carry is a 502."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from streamlab.emulator import provision
from streamlab.emulator.engine import Engine
from streamlab.emulator.function_url import BAD_GATEWAY_BODY
from streamlab.emulator.invocation import TooManyRequests
from streamlab.emulator.logs import LambdaLog
from streamlab.emulator.template import load_functions
from tests.conftest import ROOT, TEMPLATE
from tests.support.engine_helpers import collect, payload, run
from tests.support.front_server import serving_engine

ISOLATION_APP = ROOT / "tests" / "fixtures" / "isolation_app" / "template.yaml"
VENV = Path(sys.prefix)

VENV_ONLY_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  VenvOnlyFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      CodeUri: code/
      Handler: app.handler
      Timeout: 10
      FunctionUrlConfig:
        AuthType: NONE
        InvokeMode: BUFFERED
"""

VENV_ONLY_CODE = """\
import json
import os

import requests  # in the developer's venv; not in Lambda's runtime, layers or this code


def handler(event, context):
    where = [requests.__file__, os.path.realpath(requests.__file__)]
    return {"statusCode": 200, "body": json.dumps(where)}
"""


def _engine(template: Path, **options: object) -> tuple[Engine, io.StringIO]:
    buffer = io.StringIO()
    return Engine.from_template(template, log=LambdaLog(buffer), **options), buffer


def test_a_venv_package_fails_to_import_until_requirements_bundle_it(tmp_path: Path) -> None:
    assert importlib.util.find_spec("requests") is not None  # the developer has it
    (tmp_path / "template.yaml").write_text(VENV_ONLY_TEMPLATE)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(VENV_ONLY_CODE)

    engine, log = _engine(tmp_path / "template.yaml")
    with serving_engine(engine) as server:
        reply = requests.get(f"{server.base_url}/VenvOnlyFunction/", timeout=30)
    assert reply.status_code == 502
    assert reply.content == BAD_GATEWAY_BODY
    assert "Runtime.ImportModuleError" in log.getvalue()
    assert "No module named 'requests'" in log.getvalue()

    (tmp_path / "code" / "requirements.txt").write_text("requests\n")
    engine, log = _engine(tmp_path / "template.yaml")
    with serving_engine(engine) as server:
        reply = requests.get(f"{server.base_url}/VenvOnlyFunction/", timeout=30)
    assert reply.status_code == 200, log.getvalue()
    imported_from, real = map(Path, reply.json())  # /var/task/requests/__init__.py, locally
    assert imported_from.parent.parent.name == "task"
    assert provision.cache_root() / "requirements" in real.parents
    assert VENV not in real.parents


def test_use_venv_restores_the_developers_environment(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(VENV_ONLY_TEMPLATE)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(VENV_ONLY_CODE)
    engine, log = _engine(tmp_path / "template.yaml", isolated=False)
    with serving_engine(engine) as server:
        reply = requests.get(f"{server.base_url}/VenvOnlyFunction/", timeout=30)
    assert reply.status_code == 200, log.getvalue()
    assert VENV in Path(reply.json()[1]).parents


def test_sse_function_imports_powertools_from_its_layer_arn() -> None:
    """The real SseFunction, with Python's import trace on (PYTHONVERBOSE) to show where
    each module was loaded from."""
    functions = load_functions(TEMPLATE, {"FunctionUrlAuthType": "NONE"})
    sse = functions["SseFunction"]
    assert any("AWSLambdaPowertoolsPythonV3" in arn for _, arn in sse.remote_layers)
    traced = dataclasses.replace(sse, environment={**sse.environment, "PYTHONVERBOSE": "1"})
    buffer = io.StringIO()
    engine = Engine({"SseFunction": traced}, log=LambdaLog(buffer))
    with serving_engine(engine) as server:
        reply = requests.post(
            f"{server.base_url}/SseFunction/",
            json={"prompt": "hi", "max_tokens": 3},
            headers={"Accept": "text/event-stream"},
            timeout=30,
        )
        opt = engine._sandbox("SseFunction").opt_dir  # the local /opt: symlinks into layers
        package = (opt / "python" / "aws_lambda_powertools").resolve()
    log = buffer.getvalue()
    assert reply.status_code == 200, log
    assert reply.headers["Content-Type"].startswith("text/event-stream")
    assert "data:" in reply.text
    loaded = [line for line in log.splitlines() if "aws_lambda_powertools/__init__.py" in line]
    assert loaded, "aws_lambda_powertools was never imported"
    assert all(f"{opt}/python/aws_lambda_powertools/" in line for line in loaded), loaded
    # /opt/python/aws_lambda_powertools is the Powertools layer resolved from the ARN,
    # version 27 -> aws-lambda-powertools 3.23.0, installed into the emulator's cache.
    assert package.parent.parent.name.startswith("powertools-3.23.0-")
    assert provision.cache_root() / "layers" in package.parents
    assert not any(str(VENV) in line for line in log.splitlines() if "# code object" in line)


@pytest.mark.parametrize("function", ["BadHeaderFunction", "BufferedBadHeaderFunction"])
def test_a_header_with_cr_lf_is_a_502_never_a_500(
    function: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine, log = _engine(ISOLATION_APP)
    with caplog.at_level(logging.ERROR, logger="streamlab"), serving_engine(engine) as server:
        reply = requests.get(f"{server.base_url}/{function}/", timeout=30)
    assert reply.status_code == 502, log.getvalue()
    assert reply.content == BAD_GATEWAY_BODY
    assert "Injected" not in reply.headers
    reasons = [r.getMessage() for r in caplog.records if "502" in r.getMessage()]
    assert reasons and "X-Bad" in reasons[0], reasons


def test_reserved_concurrency_caps_the_function() -> None:
    engine, _ = _engine(ISOLATION_APP)
    spec = engine.functions["ReservedFunction"]
    assert spec.reserved_concurrency == 1

    async def scenario() -> None:
        async with engine:
            first = engine.invoke("ReservedFunction", payload(sleep=1.0))
            with pytest.raises(TooManyRequests, match="ReservedConcurrentExecutions 1"):
                engine.invoke("ReservedFunction", payload())
            done = await collect(first)
            assert done.end.error is None and json.loads(done.body) == "done"
            again = await collect(engine.invoke("ReservedFunction", payload(sleep=0)))
            assert again.end.error is None

    run(scenario, timeout=60)


def test_the_stock_client_comes_from_the_runtime_cache() -> None:
    """No wrapper: the process is the runtime's interpreter running /var/runtime/bootstrap.py
    (the local stand-in), and the handler's sys.path has Lambda's order."""
    engine, log = _engine(ROOT / "tests" / "fixtures" / "emulator_app" / "template.yaml")

    async def scenario() -> dict[str, object]:
        async with engine:
            [environment_command] = [_command(engine, "EchoFunction")]
            done = await collect(engine.invoke("EchoFunction", payload()))
            assert done.end.error is None, log.getvalue()
            result = json.loads(done.body)
            result["command"] = environment_command
            return result

    result = run(scenario, timeout=60)
    command = result["command"]
    assert isinstance(command, list) and command[1].endswith("/runtime/bootstrap.py")
    assert provision.cache_root() in Path(command[0]).parents
    path = result["sys_path"]
    assert isinstance(path, list)
    assert path[0].endswith("emulator_app/src")
    version = provision.runtime_set("python3.13").interpreter.version  # the function's Python
    assert path[1].endswith(f"/opt/python/lib/python{version}/site-packages")
    assert path[2].endswith("/opt/python")
    assert path[3].endswith(f"/lang/lib/python{version}/site-packages")
    assert path[4].endswith("/runtime")
    assert not any(str(VENV) in entry for entry in path)


def _command(engine: Engine, name: str) -> list[str]:
    from streamlab.emulator.environment import ExecutionEnvironment

    sandbox = engine._sandbox(name)
    environment = ExecutionEnvironment(
        engine.functions[name],
        sandbox.opt_dir,
        engine.log,
        region="us-east-1",
        isolation=sandbox.isolation,
    )
    return environment.command()


def test_ready_caches_are_reused_silently(capsys: pytest.CaptureFixture[str]) -> None:
    provision.runtime_set("python3.13")  # warm (the session already installed it)
    capsys.readouterr()
    provision.runtime_set("python3.13")
    assert "installing" not in capsys.readouterr().err


def test_unknown_layer_arns_are_skipped_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    functions = load_functions(ISOLATION_APP)
    spec = dataclasses.replace(
        functions["ReservedFunction"],
        remote_layers=((0, "arn:aws:lambda:us-east-1:123456789012:layer:Private:3"),),
    )
    engine = Engine({"ReservedFunction": spec}, log=LambdaLog(io.StringIO()))
    with caplog.at_level(logging.WARNING, logger="streamlab.emulator.sandbox"):
        asyncio.run(engine.start())
        asyncio.run(engine.stop())
    warnings = [r.getMessage() for r in caplog.records if "Remote layer" in r.getMessage()]
    assert len(warnings) == 1 and "layer:Private:3" in warnings[0]


def test_requirements_that_cannot_install_stop_serve_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(VENV_ONLY_TEMPLATE)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(VENV_ONLY_CODE)
    (tmp_path / "code" / "requirements.txt").write_text("./not-a-directory-here\n")
    done = subprocess.run(
        [sys.executable, "-m", "streamlab", "serve", "-t", str(tmp_path / "template.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "pip could not install -r" in done.stderr
    assert "not-a-directory-here" in done.stderr
    assert "Traceback" not in done.stderr

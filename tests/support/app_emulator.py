"""The local emulator (engine + Function URL and REST API server) on a background loop, and a
client that signs like AWS's and records when each chunk arrives."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from streamlab.emulator.engine import Engine
from streamlab.emulator.rest_template import load_rest_apis
from streamlab.emulator.server import EmulatorServer


@contextmanager
def emulator(template: Path, **parameters: str) -> Iterator[str]:
    """Serves the template's Function URLs and REST API stages; yields the base URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="app-emulator", daemon=True)
    thread.start()
    engine = Engine.from_template(template, parameters or None)
    rest_apis = load_rest_apis(template, parameters or None, function_names=set(engine.functions))
    server = EmulatorServer(engine, host="127.0.0.1", port=0, rest_apis=rest_apis)

    def run(coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, loop).result(30)  # type: ignore[arg-type]

    try:
        run(engine.start())
        run(server.start())
        yield server.base_url
    finally:
        run(server.stop())
        run(engine.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass
class Reply:
    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    chunks: list[tuple[float, bytes]] = field(default_factory=list)  # (seconds since sent, data)

    @property
    def body(self) -> bytes:
        return b"".join(data for _, data in self.chunks)

    def arrival(self, marker: bytes) -> float:
        """When the chunk completing the first occurrence of ``marker`` arrived."""
        seen = b""
        for at, data in self.chunks:
            seen += data
            if marker in seen:
                return at
        raise AssertionError(f"{marker!r} never arrived")


def call(
    method: str, url: str, body: bytes | None = None, *, service: str = "lambda", **headers: str
) -> Reply:
    """A SigV4-signed request: service ``lambda`` for an AWS_IAM Function URL, ``execute-api``
    for an AWS_IAM REST API method; ``service=""`` sends it unsigned."""
    request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
    credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    if service:
        region = os.environ.get("AWS_REGION", "us-east-1")
        SigV4Auth(credentials, service, region).add_auth(request)
    started = time.monotonic()
    with requests.request(
        method, url, data=body, headers=dict(request.headers), stream=True, timeout=20
    ) as response:
        reply = Reply(response.status_code, response.headers)
        for data in response.iter_content(chunk_size=None):
            reply.chunks.append((time.monotonic() - started, data))
    return reply

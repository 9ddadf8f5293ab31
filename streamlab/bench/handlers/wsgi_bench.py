"""The small Flask app of ``streamlab bench wsgi``, served by ``wsgi_ours`` (through
lambda_streaming.wsgi, streamed), ``wsgi_apig`` (apig-wsgi) and ``wsgi_serverless``
(serverless-wsgi), both buffered."""

from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Flask, Response, request

app = Flask(__name__)


@app.get("/json")
def small_json() -> dict[str, object]:
    return {"ok": True, "items": [1, 2, 3]}


@app.get("/stream")
def stream() -> Response:
    parts = request.args.get("parts", 5, type=int)
    gap_s = request.args.get("gap_ms", 100, type=int) / 1000

    def body() -> Iterator[bytes]:
        for index in range(parts):
            if index:
                time.sleep(gap_s)
            yield b"part %d\n" % index

    return Response(body(), mimetype="text/plain")

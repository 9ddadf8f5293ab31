"""A Flask app on Lambda, streamed by ``lambda_streaming.wsgi``: no web server in the function.

Generators stream: each item a view's generator yields goes to the client as it is yielded,
behind a Function URL or an API Gateway REST API. Plain views (JSON, POST, cookies) work as
under any server. Run it locally with
``python -m streamlab serve --template examples/flask/template.yaml``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator

from flask import Flask, Response, abort, jsonify, request, stream_with_context

from lambda_streaming.wsgi import wsgi_handler

app = Flask(__name__)

# Streamed responses must not be buffered by a proxy on the way (CloudFront, nginx).
STREAMING_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
SENTENCE = (
    "Streaming sends each word to the client as soon as the function has it, so the "
    "first words arrive while the rest are still being written."
)


def words(prompt: str, count: int, delay_ms: int) -> Iterator[str]:
    """The small source: the prompt's own words, then a fixed sentence, ``delay_ms`` apart
    (stands in for an LLM or any slow producer)."""
    source = prompt.split() + SENTENCE.split()
    for index in range(count):
        if index:
            time.sleep(delay_ms / 1000)
        yield source[index % len(source)]


def options(values: dict[str, object]) -> tuple[str, int, int]:
    """The prompt and its limits, from the query or a JSON body; 400 if they are wrong."""
    prompt = str(values.get("prompt") or "")
    try:
        count = int(str(values.get("words", 12)))
        delay_ms = int(str(values.get("delay_ms", 100)))
    except ValueError:
        abort(400, "words and delay_ms must be integers")
    if not prompt.strip() or len(prompt) > 4000:
        abort(400, "prompt: 1 to 4000 characters")
    if not 1 <= count <= 1000 or not 0 <= delay_ms <= 10_000:
        abort(400, "words: 1 to 1000; delay_ms: 0 to 10000")
    return prompt, count, delay_ms


def stream(fmt: str, prompt: str, count: int, delay_ms: int) -> Response:
    """The same words as text, server-sent events or JSON lines."""

    @stream_with_context  # the request stays usable inside the generator
    def text() -> Iterator[str]:
        for index, word in enumerate(words(prompt, count, delay_ms)):
            yield word if index == 0 else " " + word

    @stream_with_context
    def sse() -> Iterator[str]:
        for index, word in enumerate(words(prompt, count, delay_ms)):
            yield f"id: {index}\nevent: token\ndata: {word}\n\n"
        yield f"event: done\ndata: {json.dumps({'words': count})}\n\n"

    @stream_with_context
    def jsonl() -> Iterator[str]:
        for index, word in enumerate(words(prompt, count, delay_ms)):
            yield json.dumps({"type": "token", "index": index, "text": word}) + "\n"
        yield json.dumps({"type": "done", "words": count}) + "\n"

    bodies = {
        "text": (text, "text/plain"),
        "sse": (sse, "text/event-stream"),
        "jsonl": (jsonl, "application/x-ndjson"),
    }
    if fmt not in bodies:
        abort(400, "format: text, sse or jsonl")
    body, mimetype = bodies[fmt]
    return Response(body(), mimetype=mimetype, headers=STREAMING_HEADERS)


@app.get("/")
def index() -> Response:
    return jsonify(
        app="flask",
        invoke_mode=os.environ.get("STREAM_INVOKE_MODE", "RESPONSE_STREAM"),
        script_root=request.script_root,  # the REST stage, or "" behind a Function URL
        routes=["/text", "/sse", "/jsonl", "POST /prompt", "/items", "/session"],
    )


@app.get("/<any(text, sse, jsonl):fmt>")
def streamed(fmt: str) -> Response:
    return stream(fmt, *options(request.args))


@app.post("/prompt")
def prompt() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "a JSON object: {prompt, words, delay_ms, format}")
    return stream(str(body.get("format", "jsonl")), *options(body))


@app.get("/items")
def items() -> Response:
    return jsonify(ok=True, items=[{"id": 1, "name": "first"}, {"id": 2, "name": "second"}])


@app.post("/session")
def new_session() -> Response:
    session = uuid.uuid4().hex
    response = jsonify(session=session)
    response.set_cookie("session", session, httponly=True, secure=True, samesite="Lax")
    response.set_cookie("theme", "dark", max_age=3600)
    return response


@app.get("/session")
def read_session() -> Response:
    return jsonify(session=request.cookies.get("session"), theme=request.cookies.get("theme"))


handler = wsgi_handler(app)

"""Ordinary Django views and ``StreamingHttpResponse`` ones, side by side.

A ``StreamingHttpResponse`` reaches the client part by part behind a streaming Function URL
or REST API: each item its iterator yields is written as it is yielded.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_POST

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


def _options(request: HttpRequest) -> tuple[str, int, int] | None:
    prompt = request.GET.get("prompt", "")
    try:
        count = int(request.GET.get("words", 12))
        delay_ms = int(request.GET.get("delay_ms", 100))
    except ValueError:
        return None
    if not prompt.strip() or len(prompt) > 4000 or not 1 <= count <= 1000:
        return None
    if not 0 <= delay_ms <= 10_000:
        return None
    return prompt, count, delay_ms


@require_GET
def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "app": "django",
            "invoke_mode": os.environ.get("STREAM_INVOKE_MODE", "RESPONSE_STREAM"),
            # reverse() builds URLs on SCRIPT_NAME: the REST stage, or nothing on a Function URL
            "links": {name: reverse(name) for name in ("text", "sse", "items", "session")},
        }
    )


@require_GET
def text(request: HttpRequest) -> HttpResponse:
    options = _options(request)
    if options is None:
        return HttpResponseBadRequest("prompt: 1 to 4000 characters; words: 1 to 1000")

    def body() -> Iterator[str]:
        for index, word in enumerate(words(*options)):
            yield word if index == 0 else " " + word

    return StreamingHttpResponse(body(), content_type="text/plain", headers=STREAMING_HEADERS)


@require_GET
def sse(request: HttpRequest) -> HttpResponse:
    options = _options(request)
    if options is None:
        return HttpResponseBadRequest("prompt: 1 to 4000 characters; words: 1 to 1000")

    def events() -> Iterator[str]:
        for index, word in enumerate(words(*options)):
            yield f"id: {index}\nevent: token\ndata: {word}\n\n"
        yield f"event: done\ndata: {json.dumps({'words': options[1]})}\n\n"

    return StreamingHttpResponse(
        events(), content_type="text/event-stream", headers=STREAMING_HEADERS
    )


@require_GET
def items(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "items": [{"id": 1, "name": "first"}]})


@require_POST
def echo(request: HttpRequest) -> JsonResponse:
    try:
        received = json.loads(request.body)
    except ValueError:
        return JsonResponse({"error": "a JSON body"}, status=400)
    return JsonResponse({"received": received, "bytes": len(request.body)})


@require_GET
def hello(request: HttpRequest, name: str) -> HttpResponse:
    return HttpResponse(f"<h1>Hello, {escape(name)}!</h1>")


def session(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        session_id = uuid.uuid4().hex
        response = JsonResponse({"session": session_id})
        response.set_cookie("session", session_id, httponly=True, secure=True, samesite="Lax")
        response.set_cookie("theme", "dark", max_age=3600)
        return response
    return JsonResponse(
        {"session": request.COOKIES.get("session"), "theme": request.COOKIES.get("theme")}
    )

"""A FastAPI app on Lambda, streamed by ``lambda_streaming.asgi``: no web server in the function.

The same sources and wire formats as the three functions (``token_stream``), served
as FastAPI routes: raw text, server-sent events (sse-starlette), JSON lines, plus a JSON route,
a POST route, lifespan state and cookies. Run it locally with
``python -m streamlab serve --template examples/fastapi/template.yaml``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import Cookie, FastAPI, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from lambda_streaming.asgi import asgi_handler
from token_stream.formats import STREAMING_HEADERS, ndjson, text
from token_stream.messages import Heartbeat, Message, Token
from token_stream.pipeline import generate
from token_stream.prompt import PromptRequest
from token_stream.sources import source_from_env


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    """Once per execution environment, before the first request (the cold start)."""
    yield {"source": source_from_env(), "started_at": time.time(), "environment": uuid.uuid4().hex}


app = FastAPI(title="Streaming FastAPI on AWS Lambda", lifespan=lifespan)

Prompt = Annotated[str, Query(min_length=1, max_length=4000)]
MaxTokens = Annotated[int, Query(ge=1, le=2048)]
Delay = Annotated[int | None, Query(ge=0, le=10_000)]


class PromptBody(BaseModel):
    prompt: str = Field(min_length=1, max_length=4000)
    max_tokens: int = Field(64, ge=1, le=2048)
    token_delay_ms: int | None = Field(None, ge=0, le=10_000)
    format: Literal["text", "sse", "jsonl"] = "jsonl"


def messages(request: Request, prompt: PromptRequest) -> Iterator[Message]:
    """The shared pipeline; ``aws.context`` (set by the adapter) lets it meet the deadline."""
    source = request.state.source
    return generate(source, prompt, request.scope.get("aws.context"))


def encoded(wire_format: Any, stream: Iterator[Message]) -> Iterator[bytes]:
    for message in stream:
        data = wire_format.encode(message)
        if data:
            yield data


def server_sent(stream: Iterator[Message]) -> Iterator[ServerSentEvent]:
    for message in stream:
        if isinstance(message, Token):
            yield ServerSentEvent(data=message.text, id=str(message.index))
        elif isinstance(message, Heartbeat):
            yield ServerSentEvent(comment="keep-alive")
        else:
            data = json.dumps(asdict(message), separators=(",", ":"))
            yield ServerSentEvent(data=data, event=type(message).__name__.lower())


def respond(request: Request, prompt: PromptRequest, wire_format: str) -> Response:
    stream = messages(request, prompt)
    if wire_format == "sse":
        return EventSourceResponse(server_sent(stream), headers=dict(STREAMING_HEADERS))
    module = text if wire_format == "text" else ndjson
    return StreamingResponse(
        encoded(module, stream), media_type=module.MEDIA_TYPE, headers=dict(STREAMING_HEADERS)
    )


@app.get("/")
async def index(request: Request) -> dict[str, Any]:
    """A small JSON route."""
    return {
        "app": app.title,
        "source": request.state.source.name,
        "streams": ["/text", "/sse", "/jsonl", "POST /prompt"],
    }


@app.get("/text")
async def text_stream(
    request: Request, prompt: Prompt, max_tokens: MaxTokens = 64, token_delay_ms: Delay = None
) -> Response:
    return respond(request, PromptRequest(prompt, max_tokens, token_delay_ms), "text")


@app.get("/sse")
async def sse_stream(
    request: Request, prompt: Prompt, max_tokens: MaxTokens = 64, token_delay_ms: Delay = None
) -> Response:
    return respond(request, PromptRequest(prompt, max_tokens, token_delay_ms), "sse")


@app.get("/jsonl")
async def jsonl_stream(
    request: Request, prompt: Prompt, max_tokens: MaxTokens = 64, token_delay_ms: Delay = None
) -> Response:
    return respond(request, PromptRequest(prompt, max_tokens, token_delay_ms), "jsonl")


@app.post("/prompt")
async def prompt_stream(request: Request, body: PromptBody) -> Response:
    """The prompt as a JSON body; ``format`` picks the wire format."""
    prompt = PromptRequest(body.prompt, body.max_tokens, body.token_delay_ms)
    return respond(request, prompt, body.format)


@app.get("/state")
async def state(request: Request) -> dict[str, Any]:
    """What the lifespan startup left: the same for every request of one environment."""
    started_at = request.state.started_at
    return {
        "environment": request.state.environment,
        "started_at": started_at,
        "uptime_s": round(time.time() - started_at, 3),
    }


@app.post("/session")
async def new_session(response: Response) -> dict[str, str]:
    """Two Set-Cookie headers on one response."""
    session = uuid.uuid4().hex
    response.set_cookie("session", session, httponly=True, samesite="lax")
    response.set_cookie("theme", "dark", max_age=3600)
    return {"session": session}


@app.get("/session")
async def read_session(
    session: Annotated[str | None, Cookie()] = None, theme: Annotated[str | None, Cookie()] = None
) -> dict[str, str | None]:
    return {"session": session, "theme": theme}


handler = asgi_handler(app)

"""The small FastAPI app of ``streamlab bench asgi``, served by ``asgi_ours`` (through
lambda_streaming.asgi, streamed) and ``asgi_mangum`` (through Mangum, buffered)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()


@app.get("/json")
async def small_json() -> dict[str, object]:
    return {"ok": True, "items": [1, 2, 3]}


@app.get("/stream")
async def stream(parts: int = 5, gap_ms: int = 100) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for index in range(parts):
            if index:
                await asyncio.sleep(gap_ms / 1000)
            yield b"part %d\n" % index

    return StreamingResponse(body(), media_type="text/plain")

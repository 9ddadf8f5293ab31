"""A local stand-in for Bedrock's ConverseStream endpoint, for real botocore clients.

It answers ``POST /model/{modelId}/converse-stream`` in Bedrock's own encoding: an
``application/vnd.amazon.eventstream`` body sent as HTTP/1.1 chunks, one event-stream
message per chunk, as they are produced (so a client can be caught reading early).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from streamlab.eventstream import exception_message, json_event_message


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class WaitFor:
    """Hold the rest of the stream until the test sets this event."""

    event: threading.Event


@dataclass(frozen=True)
class StreamException:
    exception_type: str  # e.g. "throttlingException"
    message: str


@dataclass(frozen=True)
class HttpError:
    status: int
    error_type: str  # e.g. "AccessDeniedException"
    message: str


Step = tuple[str, dict[str, Any]] | Pause | WaitFor | StreamException


def text_reply(*texts: str, stop_reason: str = "end_turn") -> list[Step]:
    """The events a model sends for one text answer."""
    steps: list[Step] = [("messageStart", {"role": "assistant"})]
    steps += [("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in texts]
    steps += [
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": stop_reason}),
        (
            "metadata",
            {
                "usage": {"inputTokens": 3, "outputTokens": len(texts), "totalTokens": 9},
                "metrics": {"latencyMs": 5},
            },
        ),
    ]
    return steps


@dataclass
class FakeBedrock:
    url: str
    reply: list[Step] | HttpError = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    finished: threading.Event = field(default_factory=threading.Event)


def _handler(fake: FakeBedrock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fake.requests.append(
                {
                    "path": unquote(self.path),
                    "authorization": self.headers.get("Authorization", ""),
                    "json": json.loads(body or b"{}"),
                }
            )
            reply = fake.reply
            if isinstance(reply, HttpError):
                payload = json.dumps({"message": reply.message}).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-ErrorType", reply.error_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                fake.finished.set()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.amazon.eventstream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for step in reply:
                    if isinstance(step, Pause):
                        time.sleep(step.seconds)
                    elif isinstance(step, WaitFor):
                        step.event.wait(5)
                    elif isinstance(step, StreamException):
                        self._chunk(exception_message(step.exception_type, step.message))
                        break
                    else:
                        self._chunk(json_event_message(*step))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                fake.finished.set()

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    return Handler


@contextmanager
def fake_bedrock() -> Iterator[FakeBedrock]:
    fake = FakeBedrock(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()

"""A Runtime API in memory, plugged in where the runtime's connection goes (a ``Transport``).

The runtime's loop, pipeline and streams run unchanged on top of it: every byte they send is
parsed by h11 (an independent HTTP implementation) as a server would, and each reply comes
from a script, so a unit test can drive every branch of the loop (a refused result, a
connection closed before the pipelined ``next`` is answered...) without a socket.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import h11

PREFIX = "/2018-06-01/runtime"


class NoMoreEvents(BaseException):
    """Raised into the loop when it asks for an event the script does not have: the test's end."""


@dataclass
class Request:
    """One request the runtime sent, and which ``send()`` calls carried it."""

    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    trailers: dict[str, str] = field(default_factory=dict)
    writes: list[int] = field(default_factory=list)  # indices into MemoryRuntimeApi.writes
    connection: int = 0

    @property
    def kind(self) -> str:
        """``next``, ``response``, ``error``, ``init_error``, ``restore_next``..."""
        tail = self.target.removeprefix(PREFIX + "/")
        if tail == "invocation/next":
            return "next"
        return tail.rsplit("/", 1)[-1] if tail.startswith("invocation/") else tail.replace("/", "_")

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Event:
    """An event ``next`` hands over."""

    payload: Any
    request_id: str
    invocation_id: str = ""
    deadline_ms: int = 4_102_444_800_000  # 2100-01-01

    def reply(self) -> Reply:
        headers = {
            "lambda-runtime-aws-request-id": self.request_id,
            "lambda-runtime-deadline-ms": str(self.deadline_ms),
            "lambda-runtime-invoked-function-arn": "arn:aws:lambda:us-east-1:1:function:f",
            "content-type": "application/json",
        }
        if self.invocation_id:
            headers["lambda-runtime-invocation-id"] = self.invocation_id
        return 200, headers, json.dumps(self.payload).encode()


class MemoryRuntimeApi:
    """A ``Transport`` (send / read_reply / close) that is also the Runtime API server."""

    def __init__(self, events: Sequence[Any] = ()) -> None:
        self.events = [
            e if isinstance(e, Event) else Event(e, f"req-{i}") for i, e in enumerate(events)
        ]
        self.requests: list[Request] = []
        self.writes: list[bytes] = []  # what each send() call carried, in order
        self.connections = 0  # how many connections were opened
        self.on_reply: Callable[[Request], Reply | None] = lambda request: None  # overrides
        self.close_before_next_reply = False  # drop the connection instead of answering next
        self._open = False
        self._server = h11.Connection(h11.SERVER)
        self._current: Request | None = None
        self._replies: list[Reply | Exception] = []

    # --- the Transport interface -------------------------------------------------------------

    def send(self, parts: Sequence[bytes | bytearray | memoryview], opens: bool = False) -> None:
        if not self._open:
            if not opens:
                raise ConnectionError("the Runtime API connection closed mid-request")
            self._open, self._server = True, h11.Connection(h11.SERVER)
            self.connections += 1
        data = b"".join(bytes(part) for part in parts)
        self.writes.append(data)
        self._server.receive_data(data)
        self._parse(len(self.writes) - 1)

    def read_reply(self) -> Reply:
        if not self._replies:
            raise AssertionError("the runtime waits for a reply to a request it has not finished")
        reply = self._replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def close(self) -> None:
        self._open = False
        self._replies.clear()
        self._current = None

    # --- the server side ---------------------------------------------------------------------

    def kinds(self) -> list[str]:
        return [request.kind for request in self.requests]

    def find(self, kind: str) -> list[Request]:
        return [request for request in self.requests if request.kind == kind]

    def _parse(self, write: int) -> None:
        while True:
            event = self._server.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                if event is h11.PAUSED and self._server.our_state is h11.DONE:
                    self._server.start_next_cycle()
                    continue
                return
            if isinstance(event, h11.Request):
                self._current = Request(
                    event.method.decode(),
                    event.target.decode(),
                    {k.decode(): v.decode() for k, v in event.headers},
                    connection=self.connections,
                )
            assert self._current is not None
            if write not in self._current.writes:
                self._current.writes.append(write)
            if isinstance(event, h11.Data):
                self._current.body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._current.trailers = {k.decode(): v.decode() for k, v in event.headers}
                self._finish(self._current)

    def _finish(self, request: Request) -> None:
        """Answer a whole request at once, as the server would (its reply waits to be read)."""
        self.requests.append(request)
        reply = self.on_reply(request)
        if reply is None:
            if request.kind == "next":
                if self.close_before_next_reply:
                    self.close_before_next_reply = False
                    self._replies.append(ConnectionError("the Runtime API closed the connection"))
                    self._open = False
                    return
                if not self.events:
                    self._replies.append(NoMoreEvents())  # type: ignore[arg-type]
                else:
                    reply = self.events.pop(0).reply()
            else:
                reply = (202, {"content-length": "16"}, b'{"status":"OK"}\n')
        if reply is not None:
            self._replies.append(reply)
        # reply sent: the server's side of this exchange is done, the next one may start
        self._server.send(h11.Response(status_code=200, headers=[("content-length", "0")]))
        self._server.send(h11.EndOfMessage())

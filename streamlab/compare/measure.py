"""One call, timed the way a reader experiences it.

Every body chunk is timestamped as it comes off the socket (``iter_content(None)`` yields
each HTTP chunk whole), and each token is stamped with the arrival of the chunk that
completed it. The same clock and the same code path serve both invoke modes, so the only
difference left is how the bytes were delivered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests
import sseclient

from streamlab.compare.targets import Target

# Body arrived whole, or as chunks: (seconds since the request was sent, chunk bytes).
Arrival = tuple[float, bytes]


@dataclass(frozen=True)
class Workload:
    """What each call asks the built-in generator for (``token_delay_ms`` paces it;
    ``token_bytes`` makes every token that long: a large export)."""

    prompt: str = "Why stream responses from AWS Lambda?"
    tokens: int = 50
    token_delay_ms: int = 20
    token_bytes: int | None = None

    def params(self) -> dict[str, str]:
        params = {
            "prompt": self.prompt,
            "max_tokens": str(self.tokens),
            "token_delay_ms": str(self.token_delay_ms),
        }
        if self.token_bytes is not None:
            params["token_bytes"] = str(self.token_bytes)
        return params


@dataclass
class RunResult:
    target: Target
    status: int | None = None
    ttfb_s: float | None = None  # response head received
    first_event_s: float | None = None  # first event of any kind (raw: first token)
    first_token_s: float | None = None
    total_s: float | None = None  # last byte received
    token_times: list[float] = field(default_factory=list)
    text: str = ""  # the tokens' text, joined
    body_bytes: int = 0
    wire_bytes: int = 0  # body plus chunked transfer framing
    ended: str = "unknown"  # how the stream ended, as the client learned it
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def tokens(self) -> int:
        return len(self.token_times)

    @property
    def gaps_s(self) -> list[float]:
        """Time between consecutive tokens as they reached the client."""
        return [b - a for a, b in zip(self.token_times, self.token_times[1:], strict=False)]

    @property
    def overhead_bytes_per_token(self) -> float | None:
        """Wire bytes beyond the tokens' own text, per token: the price of the framing."""
        if not self.tokens:
            return None
        return (self.wire_bytes - len(self.text.encode())) / self.tokens


class _ChunkClock:
    """Iterates the body's HTTP chunks, stamping each with its arrival time."""

    def __init__(self, response: requests.Response, started: float) -> None:
        self._response = response
        self._started = started
        self.arrivals: list[Arrival] = []
        self.chunked = "chunked" in response.headers.get("Transfer-Encoding", "").lower()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._response.iter_content(chunk_size=None):
            if chunk:
                self.arrivals.append((time.perf_counter() - self._started, chunk))
                yield chunk

    def close(self) -> None:
        self._response.close()

    @property
    def last_arrival(self) -> float:
        return self.arrivals[-1][0]

    @property
    def body_bytes(self) -> int:
        return sum(len(chunk) for _, chunk in self.arrivals)

    @property
    def wire_bytes(self) -> int:
        if not self.chunked:
            return self.body_bytes
        # "<hex size>\r\n<data>\r\n" per chunk, then "0\r\n\r\n"
        framing = sum(len(f"{len(chunk):x}") + 4 for _, chunk in self.arrivals) + 5
        return self.body_bytes + framing


def measure(
    session: requests.Session, target: Target, workload: Workload, timeout_s: float = 60.0
) -> RunResult:
    """Call ``target`` once; never raises for what the server does, it records it."""
    result = RunResult(target)
    started = time.perf_counter()
    try:
        response = session.get(
            target.url,
            params=workload.params(),
            headers={"Accept-Encoding": "identity"},
            auth=target.auth,
            stream=True,
            timeout=timeout_s,
        )
    except requests.RequestException as error:
        result.error = f"request failed: {error}"
        return result
    with response:
        result.ttfb_s = time.perf_counter() - started
        result.status = response.status_code
        clock = _ChunkClock(response, started)
        try:
            if response.status_code != 200:
                response.content  # noqa: B018 - read it, so the error below can quote it
                result.error = f"HTTP {response.status_code}: {response.text[:200]}"
            else:
                _READERS[target.fmt](clock, result, workload)
        except requests.RequestException as error:
            result.ended = "truncated"
            result.error = f"stream broke off: {error}"
        except ValueError as error:  # a line or event that is not the JSON it should be
            result.error = f"malformed message: {error}"
        if clock.arrivals:
            result.total_s = clock.last_arrival
        else:
            result.total_s = time.perf_counter() - started
        result.body_bytes = clock.body_bytes
        result.wire_bytes = clock.wire_bytes
    if result.error is None and target.fmt != "raw" and not result.ended.startswith("done"):
        result.error = f"the stream ended without its final event ({result.ended})"
    if result.error is None and result.tokens != workload.tokens:
        result.error = f"expected {workload.tokens} tokens, got {result.tokens} ({result.ended})"
    return result


def _read_raw(clock: _ChunkClock, result: RunResult, workload: Workload) -> None:
    """Raw text has no token boundaries: the generator's tokens are words, so count words;
    or, with ``token_bytes``, blocks of that many bytes."""
    size = workload.token_bytes
    seen = 0
    text = ""
    parts: list[bytes] = []
    received = 0
    for chunk in clock:
        if size is None:
            text += chunk.decode("utf-8", "replace")
            tokens = len(text.split())
        else:  # counted, not re-split: a large export has thousands of chunks
            parts.append(chunk)
            received += len(chunk)
            tokens = received // size
        arrival = clock.last_arrival
        if result.first_event_s is None:
            result.first_event_s = arrival
        result.token_times.extend([arrival] * (tokens - seen))
        seen = tokens
    if size is not None:
        text = b"".join(parts).decode("utf-8", "replace")
    # A complete raw stream is exactly the tokens; a "\n[...]" line is the runtime's notice
    # that it ended early, and its words are not tokens.
    notice_at = text.find("\n[")
    if notice_at >= 0:
        result.error = "stream ended with a notice: " + text[notice_at:].strip()
        text = text[:notice_at]
        complete = len(text.split()) if size is None else len(text.encode()) // size
        del result.token_times[complete:]
    result.ended = "notice" if notice_at >= 0 else "closed"
    result.text = text
    result.first_token_s = result.token_times[0] if result.token_times else None


def _read_sse(clock: _ChunkClock, result: RunResult, workload: Workload) -> None:
    parts: list[str] = []
    for event in sseclient.SSEClient(iter(clock)).events():
        arrival = clock.last_arrival
        if result.first_event_s is None:
            result.first_event_s = arrival
        if event.event == "message":
            result.token_times.append(arrival)
            parts.append(event.data)
        elif event.event == "error":
            result.error = f"error event: {event.data}"
        elif event.event == "done":
            result.ended = "done:" + str(json.loads(event.data).get("reason"))
    result.text = "".join(parts)
    result.first_token_s = result.token_times[0] if result.token_times else None
    if result.ended == "unknown":
        result.ended = "no done event"


def _read_ndjson(clock: _ChunkClock, result: RunResult, workload: Workload) -> None:
    parts: list[str] = []
    pending = b""
    for chunk in clock:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        arrival = clock.last_arrival
        for line in lines:
            if not line.strip():
                continue
            message = json.loads(line)
            if result.first_event_s is None:
                result.first_event_s = arrival
            kind = message.get("type")
            if kind == "token":
                result.token_times.append(arrival)
                parts.append(message["text"])
            elif kind == "error":
                result.error = f"error message: {message.get('code')}: {message.get('message')}"
            elif kind == "done":
                result.ended = "done:" + str(message.get("reason"))
    result.text = "".join(parts)
    result.first_token_s = result.token_times[0] if result.token_times else None
    if pending.strip():
        result.error = "the last line is incomplete"
    if result.ended == "unknown":
        result.ended = "no done message"


_READERS = {"raw": _read_raw, "sse": _read_sse, "ndjson": _read_ndjson}

"""The HTTP head a function sends: a stream's JSON prelude, or a buffered result object.

Shared by the Function URL front and the REST API front. The two differ in one rule only, how
``headers`` and ``multiValueHeaders`` combine: a Function URL lets a name in ``headers`` win;
API Gateway merges both maps and, for a name in both, keeps only the ``multiValueHeaders``
values (developer guide, "Output format of a Lambda function for proxy integration").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from streamlab.emulator.headers import first_problem

INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_DELIMITER = b"\x00" * 8
MAX_PRELUDE = 1024 * 1024  # far beyond any real header block; stops an endless search

# Hop-by-hop or framing headers a function cannot set: the URL owns the connection.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class ResultError(ValueError):
    """The function's result (or stream prelude) is not something a Function URL can map."""


@dataclass(frozen=True)
class HttpHead:
    status: int
    headers: tuple[tuple[str, str], ...]


def _status(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ResultError(f"statusCode must be an integer, got {value!r}")
    try:
        status = int(value)
    except ValueError:
        raise ResultError(f"statusCode must be an integer, got {value!r}") from None
    if not 100 <= status <= 599:
        raise ResultError(f"statusCode {status} is outside 100..599")
    return status


def head_from_result(document: Mapping[str, object]) -> HttpHead:
    """Status, headers and cookies of a result object or stream prelude."""
    headers: list[tuple[str, str]] = []
    single = document.get("headers") or {}
    multi = document.get("multiValueHeaders") or {}
    cookies = document.get("cookies") or []
    if not isinstance(single, dict) or not isinstance(multi, dict) or not isinstance(cookies, list):
        raise ResultError("headers and multiValueHeaders must be objects, cookies a list")
    for name, value in single.items():
        if name.lower() not in _FRAMING_HEADERS and value is not None:
            headers.append((str(name), _header_text(value)))
    for name, values in multi.items():
        if name.lower() in _FRAMING_HEADERS or name.lower() in {n.lower() for n in single}:
            continue
        for value in values if isinstance(values, list) else [values]:
            headers.append((str(name), _header_text(value)))
    headers.extend(("Set-Cookie", str(cookie)) for cookie in cookies)
    problem = first_problem(headers)
    if problem is not None:
        raise ResultError(problem)  # a 502 naming the header, never a 500
    return HttpHead(status=_status(document.get("statusCode", 200)), headers=tuple(headers))


def rest_head_from_result(document: Mapping[str, object]) -> HttpHead:
    """Status and headers of a REST proxy result or stream prelude (API Gateway's merge rule).

    ``cookies`` (a streaming prelude field) become ``Set-Cookie`` headers.
    """
    single = document.get("headers") or {}
    multi = document.get("multiValueHeaders") or {}
    cookies = document.get("cookies") or []
    if not isinstance(single, dict) or not isinstance(multi, dict) or not isinstance(cookies, list):
        raise ResultError("headers and multiValueHeaders must be objects, cookies a list")
    multi_names = {str(name).lower() for name in multi}
    headers: list[tuple[str, str]] = []
    for name, value in single.items():
        if isinstance(value, list | dict):
            raise ResultError(f"header {name!r}: a list belongs in multiValueHeaders")
        if str(name).lower() in _FRAMING_HEADERS or str(name).lower() in multi_names:
            continue
        if value is not None:
            headers.append((str(name), _header_text(value)))
    for name, values in multi.items():
        if not isinstance(values, list):
            raise ResultError(f"multiValueHeaders[{name!r}] must be a list")
        if str(name).lower() in _FRAMING_HEADERS:
            continue
        headers.extend((str(name), _header_text(value)) for value in values if value is not None)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in cookies)
    problem = first_problem(headers)
    if problem is not None:
        raise ResultError(problem)  # a 502 naming the header, never a 500
    return HttpHead(status=_status(document.get("statusCode", 200)), headers=tuple(headers))


def _header_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_prelude(raw: bytes) -> HttpHead:
    return head_from_result(prelude_document(raw))


def rest_prelude(raw: bytes) -> HttpHead:
    """A stream prelude as API Gateway's streaming proxy integration reads it."""
    return rest_head_from_result(prelude_document(raw))


def prelude_document(raw: bytes) -> Mapping[str, object]:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultError(f"stream prelude is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ResultError("stream prelude must be a JSON object")
    return document


class PreludeReader:
    """Finds the JSON prelude and its 8-NUL delimiter, however the chunks split them.

    JSON text cannot contain a raw NUL byte, so the first 8 NULs end the prelude.
    ``parse`` turns the prelude bytes into a head (the Function URL rule by default).
    """

    def __init__(self, parse: Callable[[bytes], HttpHead] | None = None) -> None:
        self._buffer = bytearray()
        self._parse = parse or parse_prelude

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> tuple[HttpHead, bytes] | None:
        """``(head, body bytes after the delimiter)`` once complete, else None."""
        search_from = max(0, len(self._buffer) - len(PRELUDE_DELIMITER) + 1)
        self._buffer += data
        end = self._buffer.find(PRELUDE_DELIMITER, search_from)
        if end < 0:
            if len(self._buffer) > MAX_PRELUDE:
                raise ResultError(f"no prelude delimiter in the first {MAX_PRELUDE} bytes")
            return None
        head = self._parse(bytes(self._buffer[:end]))
        return head, bytes(self._buffer[end + len(PRELUDE_DELIMITER) :])

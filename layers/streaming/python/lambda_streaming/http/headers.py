"""The header rules every response head obeys, whoever builds it.

A name must be an HTTP token and a value free of CR, LF and NUL (RFC 9110 section 5): anything
else would split or break the response at the front, so it is refused here, before a byte is
sent, with an error naming the header. ``HttpResponseStream.from_`` checks a handler's metadata
with ``check_name``/``check_value``; the adapters' header lists go through ``collect``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

# RFC 9110 section 5.6.2: a field name is a token, one or more of these.
TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
# Framing is the front's job (Function URL, API Gateway): an app's own would contradict it,
# e.g. a HEAD response's Content-Length with no body.
FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


def check_status(status: object) -> int:
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"the response status must be an int from 100 to 599, got {status!r}")
    return status


def breaks_framing(text: str) -> bool:
    """CR or LF would end the header line at the front (response splitting); NUL is refused."""
    return "\r" in text or "\n" in text or "\0" in text


def check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"header names must be str, got {type(name).__name__} {name!r}")
    if not name or not TOKEN_CHARS.issuperset(name):
        raise ValueError(f"header name {name!r} is not an HTTP token (RFC 9110 field-name)")
    return name


def check_value(name: object, value: object) -> str:
    """A header value as text; numbers are allowed and written as ``str`` would."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"header {name!r} must be a str, got {type(value).__name__}")
    text = str(value)
    if breaks_framing(text):
        raise ValueError(f"header {name!r} has CR, LF or NUL in its value {text!r}")
    return text


Collected = tuple[dict[str, str], dict[str, list[str]], list[str]]


def collect(pairs: Iterable[Sequence[bytes | str]]) -> Collected:
    """An app's ``(name, value)`` list (bytes as ASGI gives them, or str) checked and sorted
    out for a front: the first value of each name under its first spelling, every value of a
    repeated name, and the ``Set-Cookie`` values. Framing headers are dropped.
    """
    single: dict[str, str] = {}  # the spelling first used -> its first value
    spelling: dict[str, str] = {}  # lower-case name -> the spelling first used
    repeated: dict[str, list[str]] = {}  # spelling -> every value, for repeated names only
    cookies: list[str] = []
    for pair in pairs:
        raw_name, raw_value = pair[0], pair[1]
        # bytes is what ASGI allows and frameworks send: decoded inline, no call per header;
        # a value as UTF-8 where it is (the front writes the prelude's text as UTF-8)
        name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else _text(raw_name)
        if isinstance(raw_value, bytes):
            try:
                value = raw_value.decode()
            except UnicodeDecodeError:
                value = raw_value.decode("latin-1")
        else:
            value = _text(raw_value)
        if not name or not TOKEN_CHARS.issuperset(name):
            raise ValueError(f"response header name {name!r} is not an HTTP token")
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"response header {name!r} contains CR, LF or NUL")
        key = name.lower()
        if key == "set-cookie":
            cookies.append(value)
        elif key not in FRAMING:
            first = spelling.get(key)
            if first is None:
                spelling[key] = name
                single[name] = value
            elif first in repeated:
                repeated[first].append(value)
            else:
                repeated[first] = [single[first], value]
    return single, repeated, cookies


def _text(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, str):  # not allowed by the ASGI spec, but some middleware does it
        return value
    raise TypeError(f"header names and values must be bytes or str, got {type(value).__name__}")

"""What both payload versions share: bodies that may be base64 (in events and in BUFFERED
results), maps of names to values, the forwarding headers."""

from __future__ import annotations

from lambda_streaming.http.request import Request

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from lambda_streaming.http.request import Front


def read_request(
    front: Front,
    event: Mapping[str, Any],
    method: object,
    raw_path: str,
    headers: list[tuple[str, str]],
    *,
    domain: object,
    source_ip: object,
    protocol: object,
    raw_root_path: str = "",
    query_string: str = "",
) -> Request:
    """The ``Request`` a front read from ``event``: what both versions carry the same way (the
    body, the forwarding headers, the protocol) is read here."""
    scheme, host, port = forwarded(headers, domain if isinstance(domain, str) else "")
    return Request(
        front,
        event,
        str(method).upper(),
        raw_path,
        raw_root_path=raw_root_path,
        query_string=query_string,
        headers=headers,
        body=event_body(event),
        source_ip=source_ip if isinstance(source_ip, str) else None,
        scheme=scheme,
        host=host,
        port=port,
        http_version=http_version(protocol),
    )


def event_body(event: Mapping[str, Any]) -> bytes:
    """The request body as bytes, base64 decoded when ``isBase64Encoded`` (either version).

    ValueError if the body is not a string, or not base64 when it says it is.
    """
    body = event.get("body")
    if not body:
        return b""
    if not isinstance(body, str):
        raise ValueError(f"the event's body must be a string, got {type(body).__name__}")
    if event.get("isBase64Encoded"):
        import base64
        import binascii

        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"isBase64Encoded is true but the body is not base64: {exc}") from None
    return body.encode("utf-8", "surrogatepass")


def pairs(mapping: object) -> list[tuple[str, str]]:
    """``{name: value}`` or ``{name: [values]}`` as ``(name, value)`` pairs; None gives []."""
    if not isinstance(mapping, dict):
        return []
    found: list[tuple[str, str]] = []
    for name, value in mapping.items():
        if isinstance(value, list):
            found.extend((str(name), str(item)) for item in value if item is not None)
        elif value is not None:
            found.append((str(name), str(value)))
    return found


def lower_pairs(mapping: object) -> list[tuple[str, str]]:
    """Header pairs with lower-case names. str names and values (every real event) are taken
    as they are, without a call per header; anything else goes through ``pairs``."""
    if not isinstance(mapping, dict):
        return []
    try:
        found = [(name.lower(), value) for name, value in mapping.items()]
    except AttributeError:  # a name that is not a str
        found = []
    if len(found) == len(mapping) and all(type(value) is str for _, value in found):
        return found
    return [(name.lower(), value) for name, value in pairs(mapping)]


def get_dict(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``mapping[key]`` if it is a JSON object, else an empty one (absent, null, or wrong)."""
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def forwarded(headers: list[tuple[str, str]], host: str) -> tuple[str, str, int | None]:
    """Scheme, host and port the client used, from the front's forwarding headers."""
    found = dict(headers)  # the last value wins, as for any single-valued header
    scheme = found.get("x-forwarded-proto", "https").split(",")[0].strip().lower() or "https"
    host = found.get("host") or host
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit():  # "example.com:3000", "[::1]:3000"
        return scheme, name.strip("[]"), int(port)
    forwarded_port = found.get("x-forwarded-port", "").split(",")[0].strip()
    if forwarded_port.isdigit():
        return scheme, host.strip("[]"), int(forwarded_port)
    return scheme, host.strip("[]"), (443 if scheme == "https" else 80) if host else None


# Every spelling of a protocol an event may carry -> an HTTP version as ASGI and WSGI write it.
_HTTP_VERSIONS = {"1.0": "1.0", "1.1": "1.1", "2": "2", "2.0": "2", "3": "3", "3.0": "3"}


def http_version(protocol: object) -> str:
    if protocol == "HTTP/1.1" or not isinstance(protocol, str):  # nearly every event
        return "1.1"
    return _HTTP_VERSIONS.get(protocol.upper().removeprefix("HTTP/"), "1.1")


def text_or_base64(body: bytes) -> tuple[str, bool]:
    """A BUFFERED result's ``body`` and ``isBase64Encoded``: text when the bytes are UTF-8."""
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        import base64

        return base64.b64encode(body).decode("ascii"), True

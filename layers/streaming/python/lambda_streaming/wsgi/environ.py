"""An HTTP request (from either front) -> the WSGI environ gunicorn would build for it.

PEP 3333's rules: every value is a native string holding the bytes the client sent as latin-1
(``PATH_INFO`` percent-decoded, ``%2F`` included, as gunicorn and Werkzeug decode it;
``RAW_URI``/``REQUEST_URI`` keep the path as sent, so an app can still tell ``%2F`` from
``/``). Headers become ``HTTP_*`` as servers map them: names with ``_`` dropped (an ``X_User``
header must not pose as ``X-User``), repeated ones joined with ``,``, cookies with ``; ``.
"""

from __future__ import annotations

from io import BytesIO  # io is loaded at interpreter start: no import cost

from lambda_streaming.runtime import logs

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from lambda_streaming.http.request import Request

WSGI_VERSION = (1, 0)
# header name (lower case, as the fronts give it) -> environ key; filled as names are seen
_KEYS: dict[str, str] = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}
_KEYS_LIMIT = 1024  # names come from clients: cache a bounded number of them


class ErrorStream:
    """``wsgi.errors``: text written here goes to the function's log (one record per write,
    so a traceback written at once stays one CloudWatch event)."""

    def write(self, text: str) -> int:
        logs.log(text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            logs.log(line)

    def flush(self) -> None:
        """Nothing to do: every write is already in the log."""


ERRORS = ErrorStream()


def build_environ(request: Request, context: Any = None) -> dict[str, Any]:
    """The environ for ``request``; ``aws.event`` and ``aws.context`` carry what Lambda gave.

    ``wsgi.multithread`` is False: the runtime serves one request at a time per process, on
    Managed Instances too (its workers are processes). ``wsgi.multiprocess`` is True: other
    execution environments (and, on Managed Instances, other workers) run the same app at the
    same time, each with its own memory. ``wsgi.run_once`` is False: an environment serves
    many requests.
    """
    raw_root, raw_path, query = request.raw_root_path, request.raw_path, request.query_string
    uri = raw_root + raw_path + ("?" + query if query else "")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": _decoded(raw_root) if raw_root else "",
        "PATH_INFO": _decoded(raw_path),
        "QUERY_STRING": _native(query),
        "RAW_URI": _native(uri),  # gunicorn's name; REQUEST_URI is Werkzeug's and mod_wsgi's
        "REQUEST_URI": _native(uri),
        "SERVER_NAME": request.host or "localhost",
        "SERVER_PORT": str(request.port or (443 if request.scheme == "https" else 80)),
        "SERVER_PROTOCOL": "HTTP/" + request.http_version,
        "wsgi.version": WSGI_VERSION,
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": BytesIO(request.body),
        "wsgi.errors": ERRORS,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,  # the whole body is here: read to EOF is safe
        "aws.event": request.event,
        "aws.context": context,
    }
    if request.source_ip:
        environ["REMOTE_ADDR"] = request.source_ip
    _add_headers(environ, request.headers)
    if request.body or "CONTENT_LENGTH" in environ:
        environ["CONTENT_LENGTH"] = str(len(request.body))  # what wsgi.input holds
    return environ


def _add_headers(environ: dict[str, Any], headers: list[tuple[str, str]]) -> None:
    keys = _KEYS
    repeated: dict[str, list[str]] | None = None
    for name, value in headers:
        key = keys.get(name)
        if key is None:
            if "_" in name:
                continue  # as gunicorn (header_map "drop") and Werkzeug do
            key = "HTTP_" + name.upper().replace("-", "_")
            if len(keys) < _KEYS_LIMIT:
                keys[name] = key
        if not value.isascii():
            value = _native(value)
        if key in environ:
            if repeated is None:
                repeated = {}
            repeated.setdefault(key, [environ[key]]).append(value)
        else:
            environ[key] = value
    if repeated:
        for key, values in repeated.items():
            environ[key] = ("; " if key == "HTTP_COOKIE" else ",").join(values)


def _native(text: str) -> str:
    """The UTF-8 bytes the front decoded ``text`` from, as a latin-1 string (PEP 3333's
    "bytes in a str"); the emulator keeps undecodable bytes as surrogates, which come back."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def _decoded(raw: str) -> str:
    """A percent-encoded path, decoded to bytes and held as latin-1 (gunicorn's
    ``unquote_to_wsgi_str``): ``%C3%A9`` becomes the two bytes of ``é``, ``%2F`` a ``/``."""
    if "%" not in raw:
        return _native(raw)
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(raw.encode("utf-8", "surrogateescape")).decode("latin-1")

"""Failures reported to the Runtime API, with the stock client's endpoints, headers and bodies.

Lambda reads an invocation's error type from the JSON body (``/invocation/{id}/error``, with the
X-Ray cause as a header) and an init or restore failure's type from the
``Lambda-Runtime-Function-Error-Type`` header, which the stock client lets callers override
(``Runtime.BeforeSnapshotError``). Loaded with the first failure: a function that never fails
never compiles it.
"""

from __future__ import annotations

import json
import sys

from lambda_streaming.runtime.errors import ERROR_TYPE_HEADER
from lambda_streaming.runtime.protocol import PREFIX, RuntimeApiError, header_safe

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from typing import NoReturn

    from lambda_streaming.runtime.interfaces import ErrorDocument
    from lambda_streaming.runtime.logs import Logs
    from lambda_streaming.runtime.pipeline import Pipeline
    from lambda_streaming.runtime.protocol import RuntimeApi

XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
_MAX_XRAY_CAUSE = 1 << 20  # the stock client drops a larger cause rather than send it


def post_invocation_error(
    pipeline: Pipeline, request_id: str, document: ErrorDocument, xray_cause: str | None
) -> None:
    """An invocation's failure: the X-Ray cause, and no error-type header (the body has it).
    Its reply is read with the invocation's end, as a result's."""
    headers = b"Content-Type: application/json\r\n" + pipeline.echo
    if xray_cause and len(xray_cause) < _MAX_XRAY_CAUSE:
        cause = header_safe(xray_cause).encode("ascii", "backslashreplace")
        headers += b"%s: %s\r\n" % (XRAY_CAUSE_HEADER.encode(), cause)
    pipeline.post(f"{PREFIX}/invocation/{request_id}/error", _json(document), headers)


def post_init_error(
    api: RuntimeApi, document: ErrorDocument, error_type: str | None = None
) -> None:
    """Init failed; ``error_type`` overrides the document's type in the header."""
    api.post(f"{PREFIX}/init/error", _json(document), _typed(document, error_type))


def post_restore_error(api: RuntimeApi, document: ErrorDocument) -> None:
    """An after-restore hook failed (SnapStart)."""
    headers = _typed(document, "Runtime.AfterRestoreError")
    api.post(f"{PREFIX}/restore/error", _json(document), headers)


def fail_init(exc: Exception, logs: Logs, api: RuntimeApi, multi_concurrent: bool) -> NoReturn:
    """Log and report a failed init as the stock client does, then exit 1."""
    import logging  # cost no longer matters; the runtime's hook formats the record

    from lambda_streaming.runtime.failures import UNHANDLED_AT_INIT_WARNING, error_document

    logging.warning(UNHANDLED_AT_INIT_WARNING)
    document = error_document(exc)
    logs.log_error(document)
    try:
        post_init_error(api, document)
    except RuntimeApiError as refused:
        # Managed Instances: every worker reports; Lambda answers 403 to all but the first.
        if not (multi_concurrent and refused.status == 403):
            raise
    sys.exit(1)


def error_type_field(document: ErrorDocument) -> str:
    """The document's error type as a header or trailer value: one line, Latin-1 only.

    A class name may be any Unicode identifier; the body (JSON) keeps the real name.
    """
    error_type = header_safe(str(document.get("errorType") or "Unhandled"))
    return error_type.encode("latin-1", "replace").decode("latin-1")


def _typed(document: ErrorDocument, override: str | None) -> bytes:
    error_type = override or error_type_field(document)
    return f"Content-Type: application/json\r\n{ERROR_TYPE_HEADER}: {error_type}\r\n".encode(
        "latin-1"
    )


def _json(document: ErrorDocument) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()

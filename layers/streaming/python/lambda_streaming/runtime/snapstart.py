"""SnapStart: the runtime hooks around the snapshot, as the stock client runs them.

Only when ``AWS_LAMBDA_INITIALIZATION_TYPE`` is ``snap-start``, after the handler imported and
before the first ``next``: the before-snapshot hooks that user code registered with
``snapshot_restore_py`` (last registered first), ``GET /runtime/restore/next`` (Lambda takes
the snapshot while it is pending and answers it after a restore), then the after-restore hooks
(in registration order). Connections opened at import can be closed before the snapshot and
reopened after it, and unique values re-seeded, exactly as on the stock runtime.

Failures end the process the way the stock client ends it: a before-snapshot hook (or
``restore/next``) with ``Runtime.BeforeSnapshotError`` on ``/init/error`` and exit code 64; an
after-restore hook with ``Runtime.AfterRestoreError`` on ``/restore/error`` and exit code 65.
Imported only on that path, so other cold starts never pay for it.
"""

from __future__ import annotations

import sys

from lambda_streaming.runtime.failures import error_document
from lambda_streaming.runtime.protocol import PREFIX
from lambda_streaming.runtime.reports import post_init_error, post_restore_error

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambda_streaming.runtime.interfaces import ErrorDocument
    from lambda_streaming.runtime.protocol import RuntimeApi

    Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"
BEFORE_SNAPSHOT_EXIT = 64
AFTER_RESTORE_EXIT = 65
RESTORE_NEXT_PATH = PREFIX + "/restore/next"


def _registries() -> tuple[list[Hook], list[Hook]]:
    """The hook lists user code registered into (the same module object it imported).

    The managed runtime provides ``snapshot_restore_py`` in ``/var/runtime``; without it no code
    can have registered a hook, so there are none to run (the stock client would crash instead).
    """
    try:
        import snapshot_restore_py
    except ImportError:
        return [], []
    return snapshot_restore_py.get_before_snapshot(), snapshot_restore_py.get_after_restore()


def run_before_snapshot(hooks: list[Hook]) -> None:
    while hooks:  # pop(): last registered runs first, and a hook runs at most once
        func, args, kwargs = hooks.pop()
        func(*args, **kwargs)


def run_after_restore(hooks: list[Hook]) -> None:
    for func, args, kwargs in hooks:
        func(*args, **kwargs)


def on_init_complete(api: RuntimeApi, log_error: Callable[[ErrorDocument], None]) -> None:
    """Snapshot and restore; returns when the restored environment may take invocations."""
    before, after = _registries()
    try:
        run_before_snapshot(before)
        api.get(RESTORE_NEXT_PATH)  # Lambda snapshots while it is pending
    except BaseException as exc:  # as the stock client's bare except: sys.exit() in a hook too
        _fail(exc, log_error, lambda doc: post_init_error(api, doc, BEFORE_SNAPSHOT_ERROR))
        sys.exit(BEFORE_SNAPSHOT_EXIT)
    try:
        run_after_restore(after)
    except BaseException as exc:
        _fail(exc, log_error, lambda doc: post_restore_error(api, doc))
        sys.exit(AFTER_RESTORE_EXIT)


def _fail(
    exc: BaseException,
    log_error: Callable[[ErrorDocument], None],
    report: Callable[[ErrorDocument], None],
) -> None:
    document = error_document(exc)  # errorType: the exception's class, requestId ""
    log_error(document)
    try:
        report(document)
    except Exception as report_failure:  # the exit code still tells Lambda what happened
        log_error(error_document(report_failure))

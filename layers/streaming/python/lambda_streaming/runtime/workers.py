"""Lambda Managed Instances: N worker processes, each a whole runtime, as the stock client runs.

With ``AWS_LAMBDA_MAX_CONCURRENCY=N`` an execution environment takes up to N invocations at
once. The launched process becomes a parent that imports no handler and never calls the
Runtime API: it forks N workers and waits for them; a worker that dies is not replaced, and the
parent exits 0 once all have exited. Each worker imports the handler, opens its own Runtime API
connection and runs its own loop, so the streams are independent.

Logs: the parent closes the telemetry fd (workers share no framed pipe). When Lambda offers
``_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET``, each worker connects to it twice, stdout first
and stderr second, and puts the two connections on fds 1 and 2; it writes plain lines there.

Imported only when the variable is set: ``multiprocessing`` costs cold start everyone else
would pay for nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable

    Fetch = Callable[[], tuple[dict[str, str], bytes]]

MAX_CONCURRENCY = "AWS_LAMBDA_MAX_CONCURRENCY"
LOG_SOCKET = "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"
TELEMETRY_FD = "_LAMBDA_TELEMETRY_LOG_FD"


def main(run: Callable[..., object], *args: object) -> None:
    """The parent: ``run(*args, multi_concurrent=True)`` in each of the N processes; a bad N
    is an error and exit 1."""
    try:
        count = worker_count(os.environ)
    except ValueError as exc:
        sys.stderr.write(f"{exc}\n")
        sys.exit(1)
    run_workers(count, lambda: run(*args, multi_concurrent=True))


def worker_count(environ: os._Environ[str] | dict[str, str]) -> int:
    value = environ[MAX_CONCURRENCY]
    try:
        count = int(value)
    except ValueError:
        raise ValueError(f"{MAX_CONCURRENCY} must be an integer, got {value!r}") from None
    if count < 0:
        raise ValueError(f"{MAX_CONCURRENCY} must not be negative, got {value!r}")
    return count


def run_workers(count: int, worker: Callable[[], object]) -> None:
    """Fork ``count`` workers running ``worker()`` and wait until every one has exited."""
    _announce_and_close_logs(count)
    import multiprocessing

    context = multiprocessing.get_context("fork")
    socket_path = os.environ.get(LOG_SOCKET) or None
    processes = []
    for _ in range(count):
        process = context.Process(target=_worker_main, args=(worker, socket_path))
        process.start()
        processes.append(process)
    for process in processes:
        process.join()


def _announce_and_close_logs(count: int) -> None:
    """The stock parent's only log record (DEBUG), then its telemetry fd closed for good.

    Framed records from N processes on one pipe would interleave: workers log plain lines to
    their stdout instead (the fd provider socket on Lambda).
    """
    fd = os.environ.get(TELEMETRY_FD)
    level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if level in ("DEBUG", "TRACE"):
        import logging

        from lambda_streaming.runtime.logs import Logs

        logs = Logs(os.environ)  # takes the fd out of the environment, as the stock parent
        logs.install()
        root = logging.getLogger()
        root.debug(
            {
                "event": "runtime_worker_pool_initializing",
                "workerCount": count,
                "executionEnvironmentMaxConcurrency": count,
            }
        )
        root.handlers.clear()  # each worker installs its own
        close = getattr(logs.sink, "close", None)
        if close is not None:
            close()
        return
    os.environ.pop(TELEMETRY_FD, None)
    if fd:
        with contextlib.suppress(OSError, ValueError):  # not an open fd: nothing to close
            os.close(int(fd))


def _worker_main(worker: Callable[[], object], socket_path: str | None) -> None:
    if socket_path:
        redirect_output(socket_path)
    worker()


def redirect_output(socket_path: str) -> None:
    """Put one connection to Lambda's log socket on stdout, then another on stderr."""
    import _socket

    for fd in (sys.stdout.fileno(), sys.stderr.fileno()):
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.connect(socket_path)
            os.dup2(sock.fileno(), fd)
        finally:
            sock.close()


# A worker's next is retried, as the stock client's: 5 attempts, sleeping 0.1 s, 0.2 s, ...
_NEXT_ATTEMPTS = 5
_FIRST_DELAY_S = 0.1
_BACKOFF = 2.0


def retrying(fetch: Fetch) -> Fetch:
    """A worker's ``next``: retried, as the stock client's workers retry theirs."""
    return lambda: next_with_retries(fetch)


def next_with_retries(fetch: Fetch) -> tuple[dict[str, str], bytes]:
    """``fetch()``; on failure retried with back-off, logging as the stock client logs."""
    from lambda_streaming.runtime.protocol import RuntimeApiError

    try:
        return fetch()
    except (OSError, RuntimeApiError) as exc:
        failure: Exception = exc
    import logging
    import time

    logging.warning(f"Initial runtime_client.next() failed: {failure}")
    delay = _FIRST_DELAY_S
    for attempt in range(2, _NEXT_ATTEMPTS + 1):
        logging.info(f"Retrying runtime_client.next() [attempt {attempt}]...")
        time.sleep(delay)
        try:
            return fetch()
        except (OSError, RuntimeApiError) as exc:
            logging.warning(f"Attempt {attempt} failed: {exc}")
            delay *= _BACKOFF
            failure = exc
    raise failure

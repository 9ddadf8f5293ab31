"""Start-up, as the stock ``bootstrap.py`` does it: paths, logging, the handler, then the loop.

Handler import failures get the stock error types and messages. This runs (and is compiled) on
every cold start, so it loads only what reaching ``next`` needs; docs/architecture.md says
what loads when.
"""

from __future__ import annotations

import os
import sys

from lambda_streaming.runtime.connection import Connection
from lambda_streaming.runtime.logs import Logs
from lambda_streaming.runtime.protocol import RuntimeApi, RuntimeApiError

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


STREAMED, BUFFERED = "RESPONSE_STREAM", "BUFFERED"
RAW_RESULT = "lambda_streaming.runtime.buffered:raw_result"  # BUFFERED without a front


def invoke_mode(environ: os._Environ[str] | dict[str, str]) -> str:
    """The Function URL's InvokeMode, which Lambda does not tell the runtime."""
    if environ.get("AWS_SAM_LOCAL", "").lower() == "true":
        return BUFFERED  # sam local invoke reads the whole body and ignores trailers
    mode = (environ.get("STREAM_INVOKE_MODE") or STREAMED).strip().upper()
    if mode not in (STREAMED, BUFFERED):
        from lambda_streaming.runtime.errors import INVALID_CONFIGURATION, RuntimeFault

        message = f"STREAM_INVOKE_MODE must be RESPONSE_STREAM or BUFFERED, got {mode!r}"
        raise RuntimeFault(INVALID_CONFIGURATION, message)
    return mode


def load_handler(name: str) -> Callable[..., Any]:
    """Import ``module.function`` as the stock client does (``/`` in the module path allowed);
    each failure is the stock client's ``Runtime.*`` fault (``failures.handler_fault``)."""
    module_name, dot, function_name = name.rpartition(".")
    if not dot or module_name.split(".")[0] in sys.builtin_module_names:
        raise _handler_fault(name, "name")
    dotted = module_name.replace("/", ".")
    try:
        # __import__, not importlib.import_module: importlib (and warnings with it) would cost
        # every cold start half a millisecond for the same absolute import.
        __import__(dotted)
    except (ImportError, SyntaxError) as exc:
        raise _handler_fault(name, "import", exc) from None
    try:
        return getattr(sys.modules[dotted], function_name)  # type: ignore[no-any-return]
    except AttributeError:
        raise _handler_fault(name, "attribute") from None


def _handler_fault(name: str, step: str, exc: BaseException | None = None) -> Exception:
    from lambda_streaming.runtime.failures import handler_fault  # only when it failed

    return handler_fault(name, step, exc)


def set_lambda_paths(layer_dir: str, packages_dir: str | None = None) -> None:
    """The stock bootstrap's ``sys.path``, ``.pth`` files and ``PYTHONPATH`` (the order is in
    docs/architecture.md); ``layer_dir`` stands in for ``/opt``, ``sys.prefix`` for ``/var/lang``.
    ``packages_dir`` holds ``lambda_streaming`` (default: the layer's ``python/``).
    """
    import site  # imported by the interpreter at start-up already: free

    environ = os.environ
    version = "python{}.{}".format(*sys.version_info[:2])
    task_root = environ.get("LAMBDA_TASK_ROOT")
    runtime_dir = environ.get("LAMBDA_RUNTIME_DIR")
    pythonpath_set = "PYTHONPATH" in environ
    opt_python = os.path.join(layer_dir, "python")
    opt_site = os.path.join(opt_python, "lib", version, "site-packages")
    front = [task_root] if task_root else []
    if not pythonpath_set:
        front += [opt_site, opt_python, os.path.join(sys.prefix, "lib", version, "site-packages")]
    # stream-bootstrap started us with the package's directory in slot 0, where a script's own
    # directory goes: that slot is LAMBDA_RUNTIME_DIR's. (``python -m`` keeps its directory.)
    started = opt_python if packages_dir is None else packages_dir
    slot = 1 if sys.path and os.path.abspath(sys.path[0]) == os.path.abspath(started) else 0
    sys.path[:slot] = [*front, runtime_dir] if runtime_dir else front
    # Already on sys.path: addsitedir only runs their .pth files, as the stock bootstrap does.
    if task_root:
        site.addsitedir(task_root)
    if not pythonpath_set:
        site.addsitedir(opt_site)
        site.addsitedir(opt_python)
        if runtime_dir:
            environ["PYTHONPATH"] = runtime_dir


def main(argv: list[str] | None = None, shape: str = "") -> None:
    """Start the runtime; never returns while the Runtime API is reachable.

    ``shape``: ``"module:function"`` that makes a BUFFERED result from a collected stream
    (``stream-bootstrap`` names the HTTP fronts'), imported only when a result needs it;
    without it the stream's bytes are the result. With ``AWS_LAMBDA_MAX_CONCURRENCY``
    (Managed Instances) this process only forks the workers that each run ``run`` and
    returns (exit 0) once all of them have exited.
    """
    argv = sys.argv[1:] if argv is None else argv
    # runtime/ -> lambda_streaming/ -> a layer's python/ (its root is /opt on Lambda), or the
    # task root when the function vendors the package (the function's layers are then in /opt)
    packages_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    in_layer = os.path.basename(packages_dir) == "python"
    layer_dir = os.path.dirname(packages_dir) if in_layer else "/opt"
    set_lambda_paths(layer_dir, packages_dir)
    if "AWS_LAMBDA_MAX_CONCURRENCY" in os.environ:
        from lambda_streaming.runtime.workers import main as run_pool  # Managed Instances only

        run_pool(run, argv, shape)
        return
    run(argv, shape)


def run(argv: list[str], shape: str = "", multi_concurrent: bool = False) -> None:
    """One runtime: logging, the handler, SnapStart's hooks if enabled, then the loop."""
    logging_setup = Logs(os.environ)
    logging_setup.install()
    address = os.environ["AWS_LAMBDA_RUNTIME_API"]
    api = RuntimeApi(Connection(address), address)
    # Lambda passes the stock bootstrap's path; a handler name as argument is for local runs.
    handler_name = os.environ.get("_HANDLER") or next(
        (a for a in argv if not a.endswith(".py")), ""
    )
    try:
        mode = invoke_mode(os.environ)
        handler = load_handler(handler_name)
    except Exception as exc:
        from lambda_streaming.runtime.reports import fail_init

        fail_init(exc, logging_setup, api, multi_concurrent)  # exits 1
    init_type = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    if init_type != "on-demand":
        import lambda_streaming.runtime.loop  # noqa: F401  init runs ahead of requests: load now
    if init_type == "snap-start":
        from lambda_streaming.runtime.snapstart import on_init_complete

        on_init_complete(api, logging_setup.log_error)  # exits 64 or 65 if a hook fails
    fetch = api.next
    if multi_concurrent:
        from lambda_streaming.runtime.workers import retrying

        fetch = retrying(fetch)
    try:
        headers, body = fetch()  # init ends here, as Lambda measures it
        from lambda_streaming.runtime.loop import Runtime

        buffered = (shape or RAW_RESULT) if mode == BUFFERED else ""
        Runtime(api, handler, logging_setup, buffered, multi_concurrent).serve_forever(
            headers, body
        )
    except (OSError, RuntimeApiError) as exc:
        from lambda_streaming.runtime.failures import error_document

        logging_setup.log_error(error_document(exc))
        sys.exit(1)

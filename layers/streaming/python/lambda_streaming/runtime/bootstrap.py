"""Start-up, as the stock ``bootstrap.py`` does it: paths, logging, the handler, then the loop.

Handler import failures get the stock error types and messages. This runs (and is compiled) on
every cold start, so it loads only what reaching ``next`` needs; docs/architecture.md says
what loads when.
"""

from __future__ import annotations

import os
import sys

from lambda_streaming.runtime import errors
from lambda_streaming.runtime.api import RuntimeApiClient, RuntimeApiError
from lambda_streaming.runtime.errors import RuntimeFault
from lambda_streaming.runtime.logs import Logs

TYPE_CHECKING = False  # typing costs milliseconds of cold start; annotations are strings anyway
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

STREAMED, BUFFERED = "RESPONSE_STREAM", "BUFFERED"


def invoke_mode(environ: os._Environ[str] | dict[str, str]) -> str:
    """The Function URL's InvokeMode, which Lambda does not tell the runtime."""
    if environ.get("AWS_SAM_LOCAL", "").lower() == "true":
        return BUFFERED  # sam local invoke reads the whole body and ignores trailers
    mode = (environ.get("STREAM_INVOKE_MODE") or STREAMED).strip().upper()
    if mode not in (STREAMED, BUFFERED):
        raise RuntimeFault(
            errors.INVALID_CONFIGURATION,
            f"STREAM_INVOKE_MODE must be RESPONSE_STREAM or BUFFERED, got {mode!r}",
        )
    return mode


def load_handler(name: str) -> Callable[..., Any]:
    """Import ``module.function`` as the stock client does (``/`` in the module path allowed)."""
    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as exc:
        raise RuntimeFault(errors.MALFORMED_HANDLER_NAME, f"Bad handler '{name}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise RuntimeFault(
            errors.BUILT_IN_MODULE_CONFLICT,
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        # __import__, not importlib.import_module: importlib (and warnings with it) would cost
        # every cold start half a millisecond for the same absolute import.
        dotted = module_name.replace("/", ".")
        __import__(dotted)
        module = sys.modules[dotted]
    except ImportError as exc:
        raise RuntimeFault(
            errors.IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise RuntimeFault(
            errors.USER_CODE_SYNTAX_ERROR,
            f"Syntax error in module '{module_name}': {exc}",
            trace,
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise RuntimeFault(
            errors.HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None


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


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``stream-bootstrap``; never returns while the Runtime API is reachable.

    With ``AWS_LAMBDA_MAX_CONCURRENCY`` (Managed Instances) this process only forks the workers
    that each run ``run`` and returns (exit 0) once all of them have exited.
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

        run_pool(lambda: run(argv, multi_concurrent=True))
        return
    run(argv)


def run(argv: list[str], multi_concurrent: bool = False) -> None:
    """One runtime: logging, the handler, SnapStart's hooks if enabled, then the loop."""
    logging_setup = Logs(os.environ)
    logging_setup.install()
    client = RuntimeApiClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    # Lambda passes the stock bootstrap's path; a handler name as argument is for local runs.
    handler_name = os.environ.get("_HANDLER") or next(
        (a for a in argv if not a.endswith(".py")), ""
    )
    try:
        mode = invoke_mode(os.environ)
        handler = load_handler(handler_name)
    except Exception as exc:
        from lambda_streaming.runtime.reports import fail_init

        fail_init(exc, logging_setup, client, multi_concurrent)  # exits 1
    init_type = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    if init_type != "on-demand":
        import lambda_streaming.runtime.loop  # noqa: F401  init runs ahead of requests: load now
    if init_type == "snap-start":
        from lambda_streaming.runtime.snapstart import on_init_complete

        on_init_complete(client, logging_setup.log_error)  # exits 64 or 65 if a hook fails
    fetch = client.next
    if multi_concurrent:
        from lambda_streaming.runtime.workers import next_with_retries

        fetch = lambda: next_with_retries(client)  # noqa: E731
    try:
        headers, body = fetch()  # init ends here, as Lambda measures it
        from lambda_streaming.runtime.loop import Runtime

        runtime = Runtime(client, handler, mode == BUFFERED, logging_setup, multi_concurrent)
        runtime.serve(headers, body)
        runtime.serve_forever(fetch)
    except (OSError, RuntimeApiError) as exc:
        from lambda_streaming.runtime.failures import error_document

        logging_setup.log_error(error_document(exc))
        sys.exit(1)

"""Start-up, as the stock ``bootstrap.py`` does it: paths, logging, the handler, then the loop.

Handler import failures are reported with the stock client's error types and messages, so the
console, alarms and docs written for the managed runtime still describe what went wrong.

Everything here runs on every cold start before the first ``next``, so it loads only what that
needs. The invocation path (``loop``, the context, the stream) is imported once there is an
invocation to serve; when init runs ahead of any request (provisioned concurrency, SnapStart)
it is imported during init instead, so the first request pays nothing.
"""

from __future__ import annotations

import importlib
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
        module = importlib.import_module(module_name.replace("/", "."))
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


def add_lambda_paths(layer_python: str) -> None:
    """Put the task root and layer directories first on sys.path, as the stock bootstrap does.

    ``/opt/python`` and its ``lib/pythonX.Y/site-packages`` hold every layer's packages; the
    layer-relative equivalents make a checkout work like ``/opt``. ``.pth`` files are honoured.
    """
    import site

    version = "python{}.{}".format(*sys.version_info[:2])
    wanted: list[str] = []
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        wanted.append(task_root)
    for base in ("/opt/python", layer_python):
        wanted += [os.path.join(base, "lib", version, "site-packages"), base]
    wanted = [os.path.abspath(p) for p in dict.fromkeys(wanted) if os.path.isdir(p)]
    for path in reversed(wanted):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    for path in wanted:
        if path.endswith("site-packages"):
            site.addsitedir(path)  # already on sys.path: this only runs its .pth files


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``stream-bootstrap``; never returns while the Runtime API is reachable."""
    argv = sys.argv[1:] if argv is None else argv
    layer_python = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    add_lambda_paths(layer_python)
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
        from lambda_streaming.runtime.failures import error_document

        document = error_document(exc)
        logging_setup.log_error(document)
        client.post_init_error(document)
        sys.exit(1)
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand") != "on-demand":
        import lambda_streaming.runtime.loop  # noqa: F401  init runs ahead of requests: load now
    try:
        invocation = client.next()  # init ends here, as Lambda measures it
        from lambda_streaming.runtime.loop import Runtime

        runtime = Runtime(client, handler, mode == BUFFERED, logging_setup)
        runtime.serve(invocation)
        runtime.serve_forever()
    except (OSError, RuntimeApiError) as exc:
        from lambda_streaming.runtime.failures import error_document

        logging_setup.log_error(error_document(exc))
        sys.exit(1)

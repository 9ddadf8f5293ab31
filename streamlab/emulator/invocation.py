"""What the emulator's engine and its HTTP fronts say to each other.

The engine (template, Runtime API, execution environments) knows nothing of HTTP clients;
the fronts (Function URLs, the Lambda API) know nothing of processes. This module is the
whole vocabulary between them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

InvokeMode = Literal["BUFFERED", "RESPONSE_STREAM"]
AuthType = Literal["NONE", "AWS_IAM"]


@dataclass(frozen=True)
class CorsConfig:
    """A Function URL's ``Cors`` block, as CloudFormation spells it."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


@dataclass(frozen=True)
class FunctionUrl:
    auth_type: AuthType
    invoke_mode: InvokeMode
    cors: CorsConfig | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the template, resolved (Globals, parameters, layers) by SAM CLI."""

    name: str  # the logical id; also the local URL prefix and the Lambda API function name
    handler: str
    runtime: str
    code_dir: Path
    layer_dirs: tuple[Path, ...] = ()
    # Layers given by ARN, each with its position among all the function's layers.
    remote_layers: tuple[tuple[int, str], ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 3.0
    memory_mb: int = 128
    architecture: str = "x86_64"
    url: FunctionUrl | None = None
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions
    # ``SnapStart: {ApplyOn: PublishedVersions}``: every cold start goes through the
    # snapshot/restore sequence (hooks, restore/next), as a published version's does on AWS.
    snap_start: bool = False
    # Lambda Managed Instances (``CapacityProviderConfig``): how many invocations one
    # environment takes at once (``PerExecutionEnvironmentMaxConcurrency``, given to the
    # runtime as ``AWS_LAMBDA_MAX_CONCURRENCY``); None: one at a time, as on-demand Lambda.
    per_environment_concurrency: int | None = None


# One invocation yields, in order: [ResponseHead, BodyChunk*], InvocationEnd.
# An error before the runtime sent a response yields InvocationEnd(error) alone.


@dataclass(frozen=True)
class ResponseHead:
    """The runtime started its response: buffered (one body) or streamed (chunks follow)."""

    streaming: bool
    content_type: str | None


@dataclass(frozen=True)
class BodyChunk:
    data: bytes


@dataclass(frozen=True)
class FunctionError:
    """How an invocation failed: an ``/error`` post, an error trailer, a timeout or a crash."""

    error_type: str  # e.g. "ValueError", "Runtime.ImportModuleError", "Sandbox.Timedout"
    error_message: str
    payload: bytes  # the error document as JSON bytes ({"errorMessage", "errorType", ...})


def function_error(error_type: str, error_message: str, **extra: object) -> FunctionError:
    """A FunctionError whose payload is the JSON document Lambda returns for it."""
    document = {"errorMessage": error_message, "errorType": error_type, **extra}
    return FunctionError(error_type, error_message, json.dumps(document).encode())


@dataclass(frozen=True)
class InvocationEnd:
    error: FunctionError | None = None


InvocationEvent = ResponseHead | BodyChunk | InvocationEnd


class TooManyRequests(Exception):
    """Over the emulator's concurrency (``--max-concurrency``, like an account limit) or the
    function's ``ReservedConcurrentExecutions``: AWS answers 429."""


class UnknownFunction(KeyError):
    """No function of that name in the template."""


class Engine(Protocol):
    """Runs functions; the fronts call only this."""

    functions: Mapping[str, FunctionSpec]

    def invoke(
        self,
        function_name: str,
        payload: bytes,
        *,
        client_context: str | None = None,
        request_id: str | None = None,
    ) -> AsyncIterator[InvocationEvent]:
        """Start one invocation and follow its response as it arrives.

        ``client_context`` as the Invoke API takes it (base64 JSON). ``request_id``: the id the
        front already put in the event and response headers (a new one if None).

        Raises TooManyRequests or UnknownFunction before yielding anything. A consumer that
        stops early (client disconnect) does not stop the function: as in AWS, it runs on and
        its output is drained and logged.
        """
        ...

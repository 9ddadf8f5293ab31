"""Which URLs to call: one per wire format and invoke mode.

The names follow template.yaml: ``RawTextFunction`` streams, ``BufferedRawTextFunction`` is
its buffered twin (``DeployBufferedTwins=true``), and the stack outputs add ``Url``. With the
REST front, the streamed calls go through the REST API stage instead (``/raw``, ``/sse``,
``/jsonl``; outputs ``RawTextRestUrl``...); the buffered ones stay on the twins' Function URLs,
the template having no buffered REST routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import requests

Format = Literal["raw", "sse", "ndjson"]
Mode = Literal["streamed", "buffered"]
Front = Literal["url", "rest"]

FORMATS: tuple[Format, ...] = ("raw", "sse", "ndjson")
MODES: tuple[Mode, ...] = ("streamed", "buffered")

FORMAT_LABELS: dict[Format, str] = {"raw": "raw text", "sse": "SSE", "ndjson": "JSON lines"}
FORMAT_MEDIA_TYPES: dict[Format, str] = {
    "raw": "text/plain",
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
}
_LOGICAL_IDS: dict[Format, str] = {
    "raw": "RawTextFunction",
    "sse": "SseFunction",
    "ndjson": "JsonlFunction",
}


FRONTS: tuple[Front, ...] = ("url", "rest")
# The template's REST API, its default stage, and each function's resource path.
REST_API = "StreamingRestApi"
REST_STAGE = "prod"
REST_PATHS: dict[Format, str] = {"raw": "raw", "sse": "sse", "ndjson": "jsonl"}


def logical_id(fmt: Format, mode: Mode) -> str:
    """The template's logical id of the function serving ``fmt`` in ``mode``."""
    name = _LOGICAL_IDS[fmt]
    return name if mode == "streamed" else "Buffered" + name


@dataclass(frozen=True)
class Target:
    fmt: Format
    mode: Mode
    url: str  # a Function URL ends with "/"; query parameters are added per request
    auth: requests.auth.AuthBase | None = None

    @property
    def label(self) -> str:
        return f"{FORMAT_LABELS[self.fmt]} {self.mode}"


def local_targets(base_url: str, front: Front = "url", stage: str = REST_STAGE) -> list[Target]:
    """The emulator's layout: every function under ``BASE/<LogicalId>/``, the REST API stage
    under ``BASE/StreamingRestApi/<stage>/``."""
    base = base_url.rstrip("/")
    targets = []
    for mode in MODES:
        for fmt in FORMATS:
            if front == "rest" and mode == "streamed":
                url = f"{base}/{REST_API}/{stage}/{REST_PATHS[fmt]}"
            else:
                url = f"{base}/{logical_id(fmt, mode)}/"
            targets.append(Target(fmt, mode, url))
    return targets


def output_key(fmt: Format, mode: Mode, front: Front = "url") -> str:
    """The stack output naming the URL of ``fmt`` in ``mode`` through ``front``."""
    if front == "rest" and mode == "streamed":
        return logical_id(fmt, mode).removesuffix("Function") + "RestUrl"
    return logical_id(fmt, mode) + "Url"


def targets_from_outputs(
    outputs: dict[str, str],
    auth: requests.auth.AuthBase | None,
    front: Front = "url",
    rest_auth: requests.auth.AuthBase | None = None,
) -> list[Target]:
    """Targets from CloudFormation outputs (``<LogicalId>Url``, ``<Name>RestUrl``); names what
    is missing. ``rest_auth`` signs the REST calls (service ``execute-api``)."""
    wanted = {(fmt, mode): output_key(fmt, mode, front) for mode in MODES for fmt in FORMATS}
    missing = sorted(key for key in wanted.values() if key not in outputs)
    if missing:
        hint = (
            " (deploy with DeployBufferedTwins=true for the buffered twins)"
            if any(key.startswith("Buffered") for key in missing)
            else ""
        )
        raise LookupError(f"stack outputs lack {', '.join(missing)}{hint}")
    targets = []
    for (fmt, mode), key in wanted.items():
        if key.endswith("RestUrl"):
            targets.append(Target(fmt, mode, outputs[key], rest_auth))
        else:
            targets.append(Target(fmt, mode, _with_slash(outputs[key]), auth))
    return targets


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"

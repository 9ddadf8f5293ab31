"""Which URLs to call: one per wire format and invoke mode.

The names follow template.yaml: ``RawTextFunction`` streams, ``BufferedRawTextFunction`` is
its buffered twin (``DeployBufferedTwins=true``), and the stack outputs add ``Url``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import requests

Format = Literal["raw", "sse", "ndjson"]
Mode = Literal["streamed", "buffered"]

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


def logical_id(fmt: Format, mode: Mode) -> str:
    """The template's logical id of the function serving ``fmt`` in ``mode``."""
    name = _LOGICAL_IDS[fmt]
    return name if mode == "streamed" else "Buffered" + name


@dataclass(frozen=True)
class Target:
    fmt: Format
    mode: Mode
    url: str  # ends with "/"; query parameters are added per request
    auth: requests.auth.AuthBase | None = None

    @property
    def label(self) -> str:
        return f"{FORMAT_LABELS[self.fmt]} {self.mode}"


def local_targets(base_url: str) -> list[Target]:
    """The emulator's layout: every function under ``BASE/<LogicalId>/``."""
    base = base_url.rstrip("/")
    return [
        Target(fmt, mode, f"{base}/{logical_id(fmt, mode)}/") for mode in MODES for fmt in FORMATS
    ]


def targets_from_outputs(
    outputs: dict[str, str], auth: requests.auth.AuthBase | None
) -> list[Target]:
    """Targets from CloudFormation outputs (``<LogicalId>Url``); names what is missing."""
    wanted = {(fmt, mode): logical_id(fmt, mode) + "Url" for mode in MODES for fmt in FORMATS}
    missing = sorted(key for key in wanted.values() if key not in outputs)
    if missing:
        hint = (
            " (deploy with DeployBufferedTwins=true for the buffered twins)"
            if any(key.startswith("Buffered") for key in missing)
            else ""
        )
        raise LookupError(f"stack outputs lack {', '.join(missing)}{hint}")
    return [
        Target(fmt, mode, _with_slash(outputs[key]), auth) for (fmt, mode), key in wanted.items()
    ]


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"

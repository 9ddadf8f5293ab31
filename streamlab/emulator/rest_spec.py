"""What the emulator knows of an API Gateway REST API: its stage, settings and routes.

Built from the template by ``rest_template``; used by the REST front (``rest_api``) to pick
the route a request goes to, the way API Gateway picks a resource and method: a literal path
beats one with path parameters, which beats a greedy ``{proxy+}``; a method beats ``ANY``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote

from streamlab.emulator.invocation import CorsConfig

TransferMode = Literal["BUFFERED", "RESPONSE_STREAM"]
IMPLICIT_API_ID = "ServerlessRestApi"  # SAM's name for the API built from events alone
IMPLICIT_STAGE = "Prod"


@dataclass(frozen=True)
class RestRoute:
    """One ``Api`` event: a method on a resource path, integrated with one function."""

    function_name: str
    method: str  # upper case, or "ANY"
    path: str  # the resource template, e.g. "/items/{id}" or "/files/{proxy+}"
    transfer_mode: TransferMode = "BUFFERED"
    authorization: str = "NONE"  # "AWS_IAM" or "NONE" after the API's default is applied
    event_name: str = ""

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(part for part in self.path.split("/") if part)

    def match(self, path_segments: tuple[str, ...]) -> dict[str, str] | None:
        """The path parameters if this route's resource matches ``path_segments``, else None."""
        params: dict[str, str] = {}
        mine = self.segments
        for index, part in enumerate(mine):
            if part.startswith("{") and part.endswith("+}"):
                rest = path_segments[index:]
                if not rest:
                    return None  # a greedy parameter needs at least one segment
                params[part[1:-2]] = unquote("/".join(rest))
                return params
            if index >= len(path_segments):
                return None
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = unquote(path_segments[index])
            elif part != path_segments[index]:
                return None
        return params if len(mine) == len(path_segments) else None

    def rank(self) -> tuple[int, ...]:
        """Sort key: more specific first (literal > {param} > {proxy+} per segment)."""
        kinds = []
        for part in self.segments:
            if part.endswith("+}"):
                kinds.append(2)
            elif part.startswith("{"):
                kinds.append(1)
            else:
                kinds.append(0)
        return (*kinds, 3)


@dataclass(frozen=True)
class RestApi:
    """One stage of one REST API, as ``streamlab serve`` mounts it at ``/<logical_id>/<stage>``."""

    logical_id: str
    stage: str
    routes: tuple[RestRoute, ...] = ()
    binary_media_types: tuple[str, ...] = ()  # "~1" already turned into "/"
    cors: CorsConfig | None = None
    cors_preflight_authorized: bool = False  # SAM's AddDefaultAuthorizerToCorsPreflight
    stage_variables: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return f"/{self.logical_id}/{self.stage}"

    def resources(self, path_segments: tuple[str, ...]) -> list[tuple[RestRoute, dict[str, str]]]:
        """Every route whose resource matches, most specific resource first."""
        found = []
        for route in sorted(self.routes, key=RestRoute.rank):
            params = route.match(path_segments)
            if params is not None:
                found.append((route, params))
        return found

    def find(
        self, method: str, path_segments: tuple[str, ...]
    ) -> tuple[RestRoute, dict[str, str]] | None:
        """The route API Gateway would pick: the most specific resource, then method over ANY."""
        candidates = self.resources(path_segments)
        if not candidates:
            return None
        best_rank = candidates[0][0].rank()
        same = [(r, p) for r, p in candidates if r.rank() == best_rank]
        for wanted in (method.upper(), "ANY"):
            for route, params in same:
                if route.method == wanted:
                    return route, params
        return None

    def is_binary(self, content_type: str | None) -> bool:
        """Whether a body of this Content-Type reaches the function base64-encoded."""
        if not content_type or not self.binary_media_types:
            return False
        media_type = content_type.split(";", 1)[0].strip().lower()
        return any(
            fnmatch.fnmatchcase(media_type, pattern.lower()) for pattern in self.binary_media_types
        )

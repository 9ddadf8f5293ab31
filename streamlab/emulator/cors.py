"""A Function URL's ``Cors`` settings, applied as the URL applies them.

With ``Cors`` configured, the URL answers preflight requests itself (the function never
sees them) and sets the ``Access-Control-*`` headers of every response from its settings,
replacing any the function returned. Without ``Cors``, requests and responses pass
through untouched, OPTIONS included.
"""

from __future__ import annotations

from collections.abc import Mapping

from streamlab.emulator.invocation import CorsConfig

WILDCARD = "*"


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method."""
    return (
        method.upper() == "OPTIONS"
        and "origin" in headers
        and "access-control-request-method" in headers
    )


def _allowed_origin(cors: CorsConfig, origin: str | None) -> str | None:
    """The Access-Control-Allow-Origin value for ``origin``, or None if it is not allowed."""
    if not origin:
        return None
    if WILDCARD in cors.allow_origins:
        # Browsers reject "*" on credentialed requests, so echo the origin then.
        return origin if cors.allow_credentials else WILDCARD
    wanted = origin.rstrip("/").lower()
    for allowed in cors.allow_origins:
        if allowed.rstrip("/").lower() == wanted:
            return origin
    return None


def preflight_headers(cors: CorsConfig, request_headers: Mapping[str, str]) -> dict[str, str]:
    """Headers of the URL's own answer to a preflight request (empty: origin not allowed)."""
    allow_origin = _allowed_origin(cors, request_headers.get("origin"))
    if allow_origin is None:
        return {}
    headers = {"Access-Control-Allow-Origin": allow_origin}
    requested_method = request_headers.get("access-control-request-method", "")
    if cors.allow_methods:
        headers["Access-Control-Allow-Methods"] = (
            requested_method.upper()
            if WILDCARD in cors.allow_methods
            else ", ".join(cors.allow_methods)
        )
    requested_headers = request_headers.get("access-control-request-headers", "")
    if cors.allow_headers:
        headers["Access-Control-Allow-Headers"] = (
            requested_headers if WILDCARD in cors.allow_headers else ", ".join(cors.allow_headers)
        )
    if cors.expose_headers:
        headers["Access-Control-Expose-Headers"] = ", ".join(cors.expose_headers)
    if cors.allow_credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if cors.max_age is not None:
        headers["Access-Control-Max-Age"] = str(cors.max_age)
    if allow_origin != WILDCARD:
        headers["Vary"] = "Origin"
    return headers


def response_headers(cors: CorsConfig, request_headers: Mapping[str, str]) -> dict[str, str]:
    """The Access-Control-* headers an actual (non-preflight) response carries."""
    allow_origin = _allowed_origin(cors, request_headers.get("origin"))
    if allow_origin is None:
        return {}
    headers = {"Access-Control-Allow-Origin": allow_origin}
    if cors.expose_headers:
        headers["Access-Control-Expose-Headers"] = ", ".join(cors.expose_headers)
    if cors.allow_credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if allow_origin != WILDCARD:
        headers["Vary"] = "Origin"
    return headers


def apply(
    cors: CorsConfig | None,
    request_headers: Mapping[str, str],
    response: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    """Response headers with the URL's CORS headers in place of the function's own."""
    if cors is None:
        return response
    ours = response_headers(cors, request_headers)
    kept = [
        (name, value)
        for name, value in response
        if not name.lower().startswith("access-control-")
        and not (ours.get("Vary") and name.lower() == "vary" and value.lower() == "origin")
    ]
    return kept + list(ours.items())

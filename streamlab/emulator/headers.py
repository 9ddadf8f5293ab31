"""Whether a header a function asked for can go on the wire at all.

A header name must be an HTTP token and a value must not hold CR, LF or NUL (RFC 9110
5.1 and 5.5): anything else would split or corrupt the response head. The fronts check every
header of a result or stream prelude before sending anything, so a function that asks for
one gets a 502 whose log names the header, never a 500 or a mis-framed response.
"""

from __future__ import annotations

from collections.abc import Iterable

# RFC 9110 token characters: what a header name may be made of.
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def header_problem(name: str, value: str) -> str | None:
    """Why ``name: value`` cannot be sent, or None when it can."""
    if not name or not set(name) <= _TOKEN:
        return f"header name {name!r} is not an HTTP token"
    bad = next((c for c in value if c in "\r\n\0"), None)
    if bad is not None:
        return f"header {name} has a value with {bad!r} in it"
    return None


def first_problem(headers: Iterable[tuple[str, str]]) -> str | None:
    """The first header of ``headers`` that cannot be sent, described; None if all can."""
    for name, value in headers:
        problem = header_problem(name, value)
        if problem is not None:
            return problem
    return None

"""Buffered bench handlers: standard library only, so the stock ``awslambdaric`` loads them too."""

from __future__ import annotations

from typing import Any


def noop(event: Any, context: Any) -> dict[str, bool]:
    """The smallest useful result: what is left to measure is the runtime's own loop."""
    return {"ok": True}

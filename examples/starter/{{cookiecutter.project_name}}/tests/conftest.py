"""The functions' code (src/) importable as Lambda imports it: from the task root."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def event(name: str) -> dict:
    return json.loads((ROOT / "events" / f"{name}.json").read_text())


def body(response) -> str:
    """Everything a StreamingResponse would stream, joined."""
    return "".join(p.decode() if isinstance(p, bytes) else p for p in response.body)

"""The emulator's page at ``/`` in real headless Chromium: three formats, streaming live."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from streamlab.compare.local import LocalEmulator
from tests.conftest import TEMPLATE
from tests.support.compare_browser import chromium_page

pytestmark = pytest.mark.browser

TOKENS = 8
DELAY_MS = 150
FORMATS = ("raw", "sse", "ndjson")

PANEL_STATE = """fmt => {
  const panel = document.getElementById(fmt);
  return {
    state: panel.dataset.state,
    firstTokenMs: Number(panel.dataset.firstTokenMs),
    totalMs: Number(panel.dataset.totalMs),
    tokens: [...panel.querySelectorAll('.token')].map(span => ({
      text: span.textContent, index: Number(span.dataset.index), t: Number(span.dataset.t),
    })),
  };
}"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[LocalEmulator]:
    with LocalEmulator(TEMPLATE, parameter_overrides=(), auth=False) as running:
        yield running


def expected_tokens(base_url: str) -> list[str]:
    """What the functions send for the page's request, read without a browser. Calling all
    three first also warms them, so the page's columns start together."""
    params = {"prompt": "page", "max_tokens": TOKENS, "token_delay_ms": 0}
    for name in ("RawTextFunction", "SseFunction"):
        requests.get(f"{base_url}/{name}/", params=params, timeout=30).raise_for_status()
    response = requests.get(f"{base_url}/JsonlFunction/", params=params, timeout=30)
    response.raise_for_status()
    messages = [json.loads(line) for line in response.text.splitlines() if line]
    return [m["text"] for m in messages if m["type"] == "token"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("front", ["url", "rest"])
def test_page_streams_all_three_formats_in_order(emulator: LocalEmulator, front: str) -> None:
    """Through the Function URLs, and through the REST API stage (``front=rest``)."""
    expected = expected_tokens(emulator.base_url)  # also warms the JSON lines function up
    assert len(expected) == TOKENS
    with chromium_page() as page:
        page.goto(
            f"{emulator.base_url}/?prompt=page&max_tokens={TOKENS}"
            f"&token_delay_ms={DELAY_MS}&front={front}&autorun=1"
        )
        # The moment a column shows its first token, it has not finished: the first token
        # is on screen while the generator still has tokens to produce.
        for fmt in FORMATS:
            page.wait_for_function(
                "fmt => document.querySelector('#' + fmt + ' .token')", arg=fmt, timeout=20_000
            )
            early = page.evaluate(PANEL_STATE, fmt)
            assert early["state"] == "running", (fmt, early)
            assert len(early["tokens"]) < TOKENS, (fmt, early)

        page.wait_for_function(
            "['raw','sse','ndjson'].every(f => document.getElementById(f).dataset.totalMs)",
            timeout=20_000,
        )
        final = {fmt: page.evaluate(PANEL_STATE, fmt) for fmt in FORMATS}

    for fmt, panel in final.items():
        assert panel["state"] == "done", (fmt, panel)
        times = [token["t"] for token in panel["tokens"]]
        assert times == sorted(times), fmt
        # Shown at least (TOKENS - 2) pacing delays before the stream ended: the last token
        # cannot have been generated when the first was displayed.
        assert panel["firstTokenMs"] < panel["totalMs"] - (TOKENS - 2) * DELAY_MS, (fmt, panel)
        assert times[-1] - times[0] >= (TOKENS - 2) * DELAY_MS, (fmt, times)

    # Every token, in order: SSE ids and JSON-lines indices count up, texts match the function.
    for fmt in ("sse", "ndjson"):
        tokens = final[fmt]["tokens"]
        assert [t["index"] for t in tokens] == list(range(TOKENS)), fmt
        assert [t["text"] for t in tokens] == expected, fmt
    # Raw text has no token boundaries on the wire; its chunks join to the same text.
    assert "".join(t["text"] for t in final["raw"]["tokens"]) == "".join(expected)
    assert len(final["raw"]["tokens"]) > 1  # it arrived in pieces, not at once

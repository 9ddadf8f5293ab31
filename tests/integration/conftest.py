"""Fixtures shared by the tests that drive the layer's real process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.layer_process import LayerHarness


@pytest.fixture
def layer() -> Iterator[LayerHarness]:
    """A recording Runtime API and the runtime processes started against it, stopped after."""
    with LayerHarness() as harness:
        yield harness

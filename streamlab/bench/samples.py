"""Figures per metric and client, one per round, and how the benches summarise them."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class RoundSamples:
    """``samples[metric][client key]``: one value per round, in round order."""

    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def record(self, metric: str, key: str, value: float | None) -> None:
        if value is not None:
            self.samples.setdefault(metric, {}).setdefault(key, []).append(value)

    def values(self, metric: str, key: str) -> list[float]:
        return self.samples.get(metric, {}).get(key, [])

    def median(self, metric: str, key: str) -> float | None:
        values = self.values(metric, key)
        return statistics.median(values) if values else None

    def ratio(self, metric: str, key: str, other: str) -> float | None:
        """Median of the per-round ``key`` / ``other``: noise shared by a round cancels out."""
        pairs = [
            a / b
            for a, b in zip(self.values(metric, key), self.values(metric, other), strict=False)
            if b
        ]
        return statistics.median(pairs) if pairs else None

"""The report's figure: time to first token and total time, streamed against buffered."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display: works on servers and in CI

import matplotlib.pyplot as plt

from streamlab.compare.stats import Spread, Summary
from streamlab.compare.targets import FORMAT_LABELS, FORMATS, MODES

_COLOURS = {"streamed": "#1f77b4", "buffered": "#ff7f0e"}


def write_plot(summaries: Sequence[Summary], path: Path) -> None:
    """Bars are medians, whiskers reach the p95. SVG output is made byte-stable (no date,
    fixed ids), so regenerating unchanged figures leaves git quiet."""
    by_key = {(s.fmt, s.mode): s for s in summaries}
    panels = (("Time to first token", "first_token_s"), ("Total time", "total_s"))
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=False)
    width = 0.38
    for axis, (title, metric) in zip(axes, panels, strict=True):
        for offset, mode in zip((-width / 2, width / 2), MODES, strict=True):
            spreads: list[Spread] = [getattr(by_key[(fmt, mode)], metric) for fmt in FORMATS]
            medians = [s.median * 1000 for s in spreads]
            whiskers = [max(0.0, (s.p95 - s.median) * 1000) for s in spreads]
            positions = [i + offset for i in range(len(FORMATS))]
            axis.bar(
                positions,
                medians,
                width,
                yerr=[[0] * len(whiskers), whiskers],
                capsize=3,
                label=mode,
                color=_COLOURS[mode],
            )
            for x, value, whisker in zip(positions, medians, whiskers, strict=True):
                axis.annotate(
                    f"{value:.0f}",
                    (x, value + whisker),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
        axis.set_title(title)
        axis.set_xticks(range(len(FORMATS)), [FORMAT_LABELS[f] for f in FORMATS])
        axis.set_ylabel("ms (median, whisker to p95)")
        axis.spines[["top", "right"]].set_visible(False)
    axes[0].legend(frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"svg.hashsalt": "streamlab-compare", "svg.fonttype": "none"}):
        metadata = {"Date": None} if path.suffix == ".svg" else {}
        figure.savefig(path, metadata=metadata)
    plt.close(figure)

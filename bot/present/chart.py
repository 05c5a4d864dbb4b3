"""The weekly summary's trend chart, rendered as PNG with matplotlib's Agg backend (no
display, no pyplot state shared between threads: each chart is its own Figure).

Every label is ASCII: matplotlib's default fonts have no Japanese glyphs, and a missing
glyph is a warning (an error under the tests' warnings-as-errors).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib

from metrics.summary import TrendPoint

IGNORE_COLOUR = "#d62728"
SAL_COLOUR = "#2ca02c"


def trend_png(
    points: Sequence[TrendPoint],
    *,
    title: str = "ignore % and SAL % per ISO week",
    width: float = 8.0,
    height: float = 3.6,
    dpi: int = 100,
) -> bytes:
    """A line per rate, one point per week; a week with no leads to count is a gap in
    the line, never a zero."""
    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not title.isascii():
        raise ValueError("chart labels must be ASCII: the default fonts have no other glyphs")
    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    xs = list(range(len(points)))

    def values(rates: Sequence[float | None]) -> list[float]:
        return [math.nan if r is None else r for r in rates]

    axes.plot(
        xs,
        values([p.ignore_rate for p in points]),
        marker="o",
        color=IGNORE_COLOUR,
        label="ignore %",
    )
    axes.plot(
        xs,
        values([p.sal_rate for p in points]),
        marker="s",
        color=SAL_COLOUR,
        label="SAL %",
    )
    axes.set_xticks(xs, [p.label for p in points])
    axes.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
    axes.set_ylim(0, 100)
    axes.set_ylabel("%")
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", frameon=False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()

"""A team's weekly trend as inline SVG, drawn on the server: the ignore rate (solid line,
round marks) and the SAL rate (dashed line, square marks), so the two differ by more than
colour, on a 0 to 100 % scale. A week with nothing counted has no point and breaks its
line. The SVG is an image with a title and a description; the page puts the same numbers
in a table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.present.i18n import t
from bot.web.markup import el, esc
from bot.web.pages import Html
from bot.web.words import rate
from metrics.summary import TrendPoint

WIDTH = 640
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 28, 32
GRID = (0, 25, 50, 75, 100)
IGNORE = "ignore"
SAL = "sal"


@dataclass(frozen=True)
class Look:
    stroke: str
    dasharray: str | None
    mark: str  # circle or square


STYLE = {
    IGNORE: Look("#b3261e", None, "circle"),
    SAL: Look("#0b57d0", "6 4", "square"),
}


def _x(i: int, n: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * i / (n - 1) if n > 1 else span / 2)


def _y(value: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - max(0.0, min(100.0, value)) / 100)


def segments(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The runs of consecutive weeks that have a value: each a line of its own."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for i, v in enumerate(values):
        if v is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, v))
    if current:
        runs.append(current)
    return runs


def _series(name: str, values: Sequence[float | None]) -> Html:
    style = STYLE[name]
    n = len(values)
    parts: list[Html] = []
    for run in segments(values):
        coords = " ".join(f"{_x(i, n):.1f},{_y(v):.1f}" for i, v in run)
        parts.append(
            el(
                "polyline",
                points=coords,
                fill="none",
                stroke=style.stroke,
                stroke_width="2",
                stroke_dasharray=style.dasharray,
            )
        )
        for i, v in run:
            x, y = _x(i, n), _y(v)
            if style.mark == "circle":
                parts.append(el("circle", cx=f"{x:.1f}", cy=f"{y:.1f}", r="3.5", fill=style.stroke))
            else:
                parts.append(
                    el(
                        "rect",
                        x=f"{x - 3.5:.1f}",
                        y=f"{y - 3.5:.1f}",
                        width="7",
                        height="7",
                        fill=style.stroke,
                    )
                )
    return el("g", *parts, class_=f"series-{name}")


def trend_svg(team: str, points: Sequence[TrendPoint], loc: str, chart_id: str) -> Html:
    """The chart of `points` (oldest first) for `team`."""
    n = len(points)
    title = t(loc, "dash.trend_title", team=team, weeks=n)
    desc = t(
        loc,
        "dash.trend_desc",
        first=points[0].week if points else "",
        last=points[-1].week if points else "",
        ignore=rate(points[-1].ignore_rate, loc) if points else "",
        sal=rate(points[-1].sal_rate, loc) if points else "",
    )
    grid: list[Html] = []
    for g in GRID:
        y = _y(g)
        grid.append(
            el(
                "line",
                x1=LEFT,
                x2=WIDTH - RIGHT,
                y1=f"{y:.1f}",
                y2=f"{y:.1f}",
                stroke="#8c959f",
                stroke_width="0.5",
            )
        )
        grid.append(
            el(
                "text",
                f"{g}%",
                x=LEFT - 6,
                y=f"{y + 4:.1f}",
                text_anchor="end",
                font_size="11",
                fill="currentColor",
            )
        )
    labels = [
        el(
            "text",
            p.label,
            x=f"{_x(i, n):.1f}",
            y=HEIGHT - 10,
            text_anchor="middle",
            font_size="11",
            fill="currentColor",
        )
        for i, p in enumerate(points)
    ]
    legend = el(
        "g",
        el(
            "line",
            x1=LEFT,
            x2=LEFT + 24,
            y1=12,
            y2=12,
            stroke=STYLE[IGNORE].stroke,
            stroke_width="2",
        ),
        el(
            "text",
            t(loc, "dash.ignore_rate"),
            x=LEFT + 30,
            y=16,
            font_size="12",
            fill="currentColor",
        ),
        el(
            "line",
            x1=LEFT + 180,
            x2=LEFT + 204,
            y1=12,
            y2=12,
            stroke=STYLE[SAL].stroke,
            stroke_width="2",
            stroke_dasharray="6 4",
        ),
        el(
            "text", t(loc, "dash.sal_rate"), x=LEFT + 210, y=16, font_size="12", fill="currentColor"
        ),
    )
    body = [
        el("title", title, id=f"{chart_id}-title"),
        el("desc", desc, id=f"{chart_id}-desc"),
        *grid,
        *labels,
        legend,
        _series(IGNORE, [p.ignore_rate for p in points]),
        _series(SAL, [p.sal_rate for p in points]),
    ]
    return Html(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-labelledby="{esc(chart_id)}-title {esc(chart_id)}-desc">' + "".join(body) + "</svg>"
    )

"""How the dashboard writes its numbers: rates ("23.4 %"), changes in points with their
direction in words ("up 2.3 pts, worse"), durations (`bot.present.words.human_minutes`)
and moments in a team's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.present.i18n import t
from bot.present.words import human_minutes

DASH = "—"
STEADY = 0.05  # points: a change that rounds to 0.0 is "no change"


def rate(value: float | None, loc: str) -> str:
    """A percentage with one decimal: "23.4 %"; a dash when there is no rate."""
    return DASH if value is None else t(loc, "dash.percent", n=f"{value:.1f}")


def points(delta: float | None, loc: str) -> str:
    """A signed change in percentage points: "+2.3 pts"."""
    if delta is None:
        return DASH
    if abs(delta) < STEADY:
        return t(loc, "dash.points", n="±0.0")
    return t(loc, "dash.points", n=f"{delta:+.1f}")


def direction(delta: float | None) -> str:
    """ "up", "down" or "same" (rounded to 0.0); "none" without a comparison."""
    if delta is None:
        return "none"
    if abs(delta) < STEADY:
        return "same"
    return "up" if delta > 0 else "down"


def verdict(delta: float | None, *, higher_is_worse: bool) -> str | None:
    """ "worse" or "better" for a move, None when there is none."""
    way = direction(delta)
    if way not in ("up", "down"):
        return None
    return "worse" if (way == "up") == higher_is_worse else "better"


def change(delta: float | None, loc: str, *, higher_is_worse: bool) -> str:
    """The change since the previous period in words: "up 2.3 pts (worse)"."""
    way = direction(delta)
    if way == "none":
        return t(loc, "dash.change_none")
    if way == "same":
        return t(loc, "dash.change_same")
    judged = verdict(delta, higher_is_worse=higher_is_worse)
    return t(
        loc,
        f"dash.change_{way}",
        points=t(loc, "dash.points", n=f"{abs(delta or 0):.1f}"),
        verdict=t(loc, f"dash.{judged}"),
    )


def duration(seconds: float | None, loc: str) -> str:
    return DASH if seconds is None else human_minutes(seconds / 60, loc)


def moment(at: datetime | None, tz: ZoneInfo) -> str:
    """`2026-11-24 12:00 JST`: the moment in the team's time zone."""
    if at is None:
        return DASH
    local = at.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or tz.key}"

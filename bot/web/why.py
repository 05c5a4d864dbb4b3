""" "Why it moved", in words: from the decompositions of a team's ignore-rate change by
source, rep and campaign (`metrics.shift_share`, docs/why-it-moved.md) the one group that
moved it most, named with its share of the counted leads, its rate, and whether it moved
the rate mostly by its mix (more or fewer of its leads) or by its own rate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from bot.present.i18n import t
from bot.web.words import points, rate
from metrics.shift_share import Effect, GroupShift, ShiftShare

DIMENSIONS = ("source", "rep", "campaign")
NONE_KEY = ""  # the unassigned rep, no campaign (bot.app.dashboard.NONE_KEY)


def group_name(dimension: str, key: str, loc: str) -> str:
    """A group as a reader names it: `source "webinar"`, the unassigned rep..."""
    if key == NONE_KEY:
        return t(loc, f"why.none_{dimension}")
    return t(loc, f"why.group_{dimension}", name=key)


@dataclass(frozen=True)
class Leader:
    dimension: str
    group: GroupShift


def leader(why: Mapping[str, ShiftShare]) -> Leader | None:
    """The group, among every dimension's leader, with the largest contribution by
    absolute value; on a tie the first dimension of DIMENSIONS."""
    best: Leader | None = None
    best_size = Fraction(0)
    for dimension in DIMENSIONS:
        shift = why.get(dimension)
        lead = shift.leader if shift else None
        if lead is None or lead.contribution is None:
            continue
        size = abs(lead.contribution.total)
        if best is None or size > best_size:
            best, best_size = Leader(dimension, lead), size
    return best


def _pct(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def headline(why: Mapping[str, ShiftShare], loc: str) -> str:
    """The sentence at the top of a team's page."""
    shift = next((why[d] for d in DIMENSIONS if d in why), None)
    if shift is None or shift.change is None:
        return t(loc, "why.no_comparison")
    moved = t(
        loc,
        "why.moved",
        before=rate(_pct(shift.rate_before), loc),
        after=rate(_pct(shift.rate_after), loc),
        points=points(_pct(shift.change), loc),
    )
    found = leader(why)
    if found is None:
        return f"{moved} {t(loc, 'why.spread')}"
    g = found.group
    assert g.contribution is not None
    name = group_name(found.dimension, g.key, loc)
    values = {
        "group": name,
        "share_before": rate(_pct(g.share_before), loc),
        "share_after": rate(_pct(g.share_after), loc),
        "rate_before": rate(_pct(g.rate_before), loc),
        "rate_after": rate(_pct(g.rate_after), loc),
        "points": points(_pct(g.contribution.total), loc),
    }
    if g.contribution.mostly is Effect.MIX:
        grew = g.share_after > g.share_before
        doubled = g.share_before > 0 and g.share_after >= 2 * g.share_before
        key = "why.mix_doubled" if doubled else ("why.mix_up" if grew else "why.mix_down")
    else:
        key = "why.rate_up" if (g.rate_after or 0) > (g.rate_before or 0) else "why.rate_down"
    return f"{moved} {t(loc, key, **values)}"

"""Why a team's ignore rate moved: the change split by group into a mix and a rate effect.

The team's ignore rate is the counted-weighted mean of its groups' rates (groups by
source, rep or campaign): R = Σ w·r, with w a group's share of the period's counted
leads and r its ignore rate. Between a previous period (0) and the current one (1),
Kitagawa's symmetric decomposition (E. M. Kitagawa, "Components of a difference between
two rates", JASA 50 (1955), 1168-1194) splits the change exactly, with no interaction
term, because w1·r1 - w0·r0 = Δw·(r0+r1)/2 + Δr·(w0+w1)/2 for every group:

    ΔR = Σ Δw·(r0+r1)/2   the mix effect: more or fewer leads from groups with a high rate
       + Σ Δr·(w0+w1)/2   the rate effect: the same groups ignoring more or less

Counting follows the report: a group's counts are `metrics.rates.Counts`, its rate is
`ignored / counted`, and `counted = handed_off - excluded - pending`. The groups must
partition the team's cohort (every lead in exactly one group; a lead without a source
is a group of its own), so that the team's rate, Σ ignored / Σ counted, is the report's.

A group with no counted lead in one period (absent then, or all its leads pending or
excluded) has no rate there. Its rate in that period is taken equal to its rate in the
other, so Δr = 0 and its whole contribution is mix: w1·r1 for a group that appeared,
-w0·r0 for one that left. The sum stays exact because its weight in that period is 0.

Units: rates are percentages, as `Counts` gives them; shares are percentages of the
period's counted leads; contributions and the change are percentage points. Every
number is an exact `Fraction` (float() it to format), so Σ mix + Σ rate equals the
change exactly. The Wilson intervals are floats (a square root), in percent.

No words here: the presentation layer writes the sentence from the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from metrics.errors import MetricsError
from metrics.intervals import MIN_COUNTED, Z95, Interval, is_small, wilson
from metrics.rates import Counts

_ZERO = Fraction(0)
_HUNDRED = Fraction(100)


class CountsError(MetricsError):
    """Counts that describe no cohort (more ignored than counted, a negative count)."""


class Effect(StrEnum):
    MIX = "mix"
    RATE = "rate"


@dataclass(frozen=True)
class Contribution:
    """A group's part of the change, in percentage points."""

    mix: Fraction
    rate: Fraction

    @property
    def total(self) -> Fraction:
        return self.mix + self.rate

    @property
    def mostly(self) -> Effect:
        """The larger effect by absolute value; a tie (both 0 included) counts as rate."""
        return Effect.MIX if abs(self.mix) > abs(self.rate) else Effect.RATE


@dataclass(frozen=True)
class GroupShift:
    """One group in both periods: its counts, shares, rates, intervals and contribution."""

    key: str
    before: Counts
    after: Counts
    share_before: Fraction  # percent of the period's counted leads; 0 if it counted none
    share_after: Fraction
    small: bool  # metrics.intervals.is_small: shown with its counts, never ranked
    interval_before: Interval | None  # Wilson interval of the ignore rate; None: no rate
    interval_after: Interval | None
    contribution: Contribution | None  # None when the team has no rate in a period

    @property
    def rate_before(self) -> Fraction | None:
        return _rate(self.before)

    @property
    def rate_after(self) -> Fraction | None:
        return _rate(self.after)


@dataclass(frozen=True)
class ShiftShare:
    """The change of a team's ignore rate, split by group.

    `groups` are in ranking order: the groups that are not small by the absolute size
    of their contribution (largest first, then by key), then the small ones by key.
    """

    groups: tuple[GroupShift, ...]
    counted_before: int
    ignored_before: int
    counted_after: int
    ignored_after: int

    @property
    def rate_before(self) -> Fraction | None:
        return _ratio(self.ignored_before, self.counted_before)

    @property
    def rate_after(self) -> Fraction | None:
        return _ratio(self.ignored_after, self.counted_after)

    @property
    def change(self) -> Fraction | None:
        """Percentage points, after minus before; None unless both periods have a rate."""
        before, after = self.rate_before, self.rate_after
        return None if before is None or after is None else after - before

    @property
    def contribution(self) -> Contribution | None:
        """The mix and rate effects summed over every group: their total is `change`."""
        if self.change is None:
            return None
        parts = [g.contribution for g in self.groups if g.contribution is not None]
        return Contribution(
            mix=sum((p.mix for p in parts), _ZERO), rate=sum((p.rate for p in parts), _ZERO)
        )

    @property
    def leader(self) -> GroupShift | None:
        """The group, not small, with the largest absolute contribution; None if none moved."""
        first = self.groups[0] if self.groups else None  # the ranking puts it first
        if first is None or first.small or first.contribution is None:
            return None
        return first if first.contribution.total != 0 else None


def decompose(
    before: Mapping[str, Counts],
    after: Mapping[str, Counts],
    *,
    min_counted: int = MIN_COUNTED,
    z: float = Z95,
) -> ShiftShare:
    """Split the change of the ignore rate from `before` to `after` by group.

    Each mapping holds a period's counts by group key; a key missing from one period is a
    group with no leads there. The periods should be of the same length (the caller's
    choice of period, see `metrics.periods`).
    """
    for counts in (*before.values(), *after.values()):
        _check(counts)
    empty = Counts()
    keys = sorted(before.keys() | after.keys())
    pairs = {key: (before.get(key, empty), after.get(key, empty)) for key in keys}
    counted0 = sum(b.counted for b, _ in pairs.values())
    counted1 = sum(a.counted for _, a in pairs.values())
    comparable = counted0 > 0 and counted1 > 0
    groups = [
        GroupShift(
            key=key,
            before=b,
            after=a,
            share_before=_share(b.counted, counted0),
            share_after=_share(a.counted, counted1),
            small=is_small(b.counted, a.counted, min_counted=min_counted),
            interval_before=wilson(b.ignored, b.counted, z),
            interval_after=wilson(a.ignored, a.counted, z),
            contribution=_contribution(b, a, counted0, counted1) if comparable else None,
        )
        for key, (b, a) in pairs.items()
    ]
    return ShiftShare(
        groups=tuple(sorted(groups, key=_rank)),
        counted_before=counted0,
        ignored_before=sum(b.ignored for b, _ in pairs.values()),
        counted_after=counted1,
        ignored_after=sum(a.ignored for _, a in pairs.values()),
    )


def _contribution(before: Counts, after: Counts, total0: int, total1: int) -> Contribution:
    w0 = Fraction(before.counted, total0)
    w1 = Fraction(after.counted, total1)
    r0, r1 = _rate(before), _rate(after)
    # a period without a rate borrows the other's: Δr = 0, and its weight there is 0
    if r0 is None:
        if r1 is None:  # no counted lead in either period: no part in either rate
            return Contribution(_ZERO, _ZERO)
        r0 = r1
    elif r1 is None:
        r1 = r0
    return Contribution(mix=(w1 - w0) * (r0 + r1) / 2, rate=(r1 - r0) * (w0 + w1) / 2)


def _rank(group: GroupShift) -> tuple[bool, Fraction, str]:
    total = _ZERO if group.contribution is None else group.contribution.total
    return (group.small, -abs(total) if not group.small else _ZERO, group.key)


def _rate(counts: Counts) -> Fraction | None:
    return _ratio(counts.ignored, counts.counted)


def _ratio(ignored: int, counted: int) -> Fraction | None:
    return Fraction(ignored, counted) * _HUNDRED if counted else None


def _share(counted: int, total: int) -> Fraction:
    return Fraction(counted, total) * _HUNDRED if total else _ZERO


def _check(counts: Counts) -> None:
    parts = (counts.handed_off, counts.excluded, counts.pending, counts.ignored)
    if min(parts) < 0 or counts.counted < 0 or counts.ignored > counts.counted:
        raise CountsError(
            f"counts describe no cohort: handed_off={counts.handed_off}, "
            f"excluded={counts.excluded}, pending={counts.pending}, ignored={counts.ignored}"
        )

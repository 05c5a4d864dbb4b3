"""The weekly summary: which week is due, what it says, and how it compares.

A team's summary of ISO week W is posted during week W+1, at the team's local
`SummaryPolicy` time. Which summary is due is derived from `now`, not from a cron firing:
a tick that comes late (the bot was down at 09:00) still finds the same week due, and a
week is due at most once because the caller keeps one row per (team, week).

Pure: every moment is a parameter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from metrics.errors import MetricsError
from metrics.instants import SUPPORTED_DAYS, OutOfRangeError, check_days
from metrics.nudges import SummaryPolicy
from metrics.periods import Period
from metrics.rates import Counts

WEEK_FORM = "YYYY-Www"
WEEK_EXAMPLE = "2026-W47"
TREND_WEEKS = 8
TOP_SOURCES = 3
# a change smaller than this (in percentage points) shows as "→": the message rounds
# rates to one decimal, and an arrow beside two equal-looking numbers would confuse
FLAT_POINTS = 0.05
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class WeekError(MetricsError):
    """A week text that is not an ISO week; the message names the accepted form."""

    def __init__(self, text: str, detail: str | None = None) -> None:
        self.text = text
        reason = f" ({detail})" if detail else ""
        super().__init__(
            f"unknown week {text!r}{reason}; expected an ISO week {WEEK_FORM}, e.g. {WEEK_EXAMPLE}"
        )


class WeekOutOfRangeError(WeekError):
    """An ISO week that exists, but outside the supported days (metrics.instants)."""


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError:
            raise WeekError(str(self), f"{self.year} has no ISO week {self.week}") from None

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def day(self, weekday: int) -> date:
        """The date of `weekday` (0 = Monday) in this week."""
        return self.monday + timedelta(days=weekday)

    def shift(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    @property
    def period(self) -> Period:
        return Period(str(self), self.monday, self.monday + timedelta(days=7))


def parse_week(text: str) -> IsoWeek:
    """`2026-W47` (case-insensitive; full-width digits accepted) or a WeekError."""
    cleaned = unicodedata.normalize("NFKC", text).strip().upper()
    match = _WEEK.match(cleaned)
    if match is None:
        raise WeekError(text.strip())
    year, week = int(match[1]), int(match[2])
    try:
        iso = IsoWeek(year, week)
    except WeekError:
        raise WeekError(text.strip(), f"{year} has no ISO week {week}") from None
    try:
        check_days(iso.period.first_day, iso.period.end_day, "week")
    except (OutOfRangeError, OverflowError):  # OverflowError: the week of 9999-12-31
        raise WeekOutOfRangeError(
            text.strip(), f"outside the supported days, {SUPPORTED_DAYS}"
        ) from None
    return iso


# ---------------------------------------------------------------- when it is due


def local_instant(day: date, policy: SummaryPolicy, tz: ZoneInfo) -> datetime:
    """`policy.at` on local `day`, as a UTC instant. A wall time the clocks skip (spring
    forward) becomes the first instant after the gap; one they repeat (fall back) is its
    first occurrence."""
    wall = datetime.combine(day, policy.at, tzinfo=tz)  # fold=0: the first occurrence
    moment = wall.astimezone(UTC)
    if moment.astimezone(tz).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return moment
    # In a gap. fold=0 read the wall time with the offset before the change, which lands
    # after the gap; fold=1, with the offset after, lands before it. The change itself is
    # the first instant between them whose wall time is not before the one asked for.
    low = wall.replace(fold=1).astimezone(UTC)
    high = moment
    target = wall.replace(tzinfo=None)
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(tz).replace(tzinfo=None) >= target:
            high = mid
        else:
            low = mid
    return high


def scheduled_at(week: IsoWeek, policy: SummaryPolicy, tz: ZoneInfo) -> datetime:
    """When the summary posted during `week` is scheduled (UTC)."""
    return local_instant(week.day(policy.weekday), policy, tz)


@dataclass(frozen=True)
class DueSummary:
    """The summary due during local ISO week `week`: it reports the week before."""

    week: str  # the current local ISO week, e.g. 2026-W48
    scheduled_at: datetime  # UTC

    @property
    def reported_week(self) -> str:
        return str(parse_week(self.week).shift(-1))


def due_summary(tz: ZoneInfo, policy: SummaryPolicy, now: datetime) -> DueSummary | None:
    """The summary due at `now` (aware) for a team in `tz`, or None: due once the current
    local ISO week's scheduled instant has come, and for the rest of that week."""
    if not policy.enabled:
        return None
    if now.tzinfo is None:
        raise MetricsError("now needs a UTC offset")
    week = IsoWeek.of(now.astimezone(tz).date())
    at = scheduled_at(week, policy, tz)
    return DueSummary(str(week), at) if now >= at else None


# ---------------------------------------------------------------- what it says


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"

    @property
    def arrow(self) -> str:
        return {"up": "↑", "down": "↓", "flat": "→"}[self.value]


class Verdict(StrEnum):
    GOOD = "good"
    BAD = "bad"
    NEUTRAL = "neutral"


@dataclass(frozen=True)
class Change:
    """A rate against the week before; `delta` in percentage points."""

    current: float
    previous: float
    delta: float
    direction: Direction
    verdict: Verdict

    @property
    def arrow(self) -> str:
        return self.direction.arrow


def compare(current: float | None, previous: float | None, *, up_is_good: bool) -> Change | None:
    """None when either week had nothing to count: no arrow from an undefined rate."""
    if current is None or previous is None:
        return None
    delta = current - previous
    if abs(delta) < FLAT_POINTS:
        return Change(current, previous, delta, Direction.FLAT, Verdict.NEUTRAL)
    direction = Direction.UP if delta > 0 else Direction.DOWN
    good = (direction is Direction.UP) == up_is_good
    return Change(current, previous, delta, direction, Verdict.GOOD if good else Verdict.BAD)


@dataclass(frozen=True)
class TrendPoint:
    week: str
    ignore_rate: float | None
    sal_rate: float | None

    @property
    def label(self) -> str:
        """`W47`: short, and ASCII for chart fonts."""
        return "W" + self.week.rsplit("W", 1)[-1]

    def as_dict(self) -> dict[str, str | float | None]:
        return {"week": self.week, "ignore_rate": self.ignore_rate, "sal_rate": self.sal_rate}

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> TrendPoint:
        def rate(value: object) -> float | None:
            return None if value is None else float(str(value))

        return cls(str(raw["week"]), rate(raw.get("ignore_rate")), rate(raw.get("sal_rate")))


def trend_point(week: IsoWeek, counts: Counts) -> TrendPoint:
    return TrendPoint(str(week), counts.ignore_rate, counts.sal_rate)


def top_sources(
    by_source: Iterable[tuple[str, Counts]], limit: int = TOP_SOURCES
) -> tuple[tuple[str, Counts], ...]:
    """The sources with the highest ignore rate, among those with leads to count; ties go
    to the one that ignored more leads, then by name."""
    counted = [(name, c) for name, c in by_source if c.counted > 0]
    counted.sort(key=lambda item: (-(item[1].ignore_rate or 0.0), -item[1].ignored, item[0]))
    return tuple(counted[:limit])


@dataclass(frozen=True)
class Summary:
    """A team's weekly summary of `week`, as of `as_of`."""

    team: str
    week: str
    timezone: ZoneInfo
    as_of: datetime
    current: Counts
    previous: Counts
    by_rep: tuple[tuple[str | None, Counts], ...]
    top_sources: tuple[tuple[str, Counts], ...]
    trend: tuple[TrendPoint, ...]

    @property
    def iso_week(self) -> IsoWeek:
        return parse_week(self.week)

    @property
    def previous_week(self) -> str:
        return str(self.iso_week.shift(-1))

    @property
    def first_day(self) -> date:
        return self.iso_week.monday

    @property
    def last_day(self) -> date:
        return self.iso_week.monday + timedelta(days=6)

    @property
    def ignore_change(self) -> Change | None:
        return compare(self.current.ignore_rate, self.previous.ignore_rate, up_is_good=False)

    @property
    def sal_change(self) -> Change | None:
        return compare(self.current.sal_rate, self.previous.sal_rate, up_is_good=True)

    @property
    def breach_change(self) -> Change | None:
        return compare(
            self.current.sla_breach_rate, self.previous.sla_breach_rate, up_is_good=False
        )

    def as_record(self) -> dict[str, object]:
        """The summary as JSON-safe data, which `from_record` reads back equal: the outbox
        keeps this and each platform words it when it is delivered."""
        return {
            "team": self.team,
            "week": self.week,
            "timezone": self.timezone.key,
            "as_of": self.as_of.isoformat(),
            "current": _counts_record(self.current),
            "previous": _counts_record(self.previous),
            "by_rep": [[rep, _counts_record(c)] for rep, c in self.by_rep],
            "top_sources": [[source, _counts_record(c)] for source, c in self.top_sources],
            "trend": [p.as_dict() for p in self.trend],
        }

    @classmethod
    def from_record(cls, raw: Mapping[str, Any]) -> Summary:
        return cls(
            team=str(raw["team"]),
            week=str(raw["week"]),
            timezone=ZoneInfo(str(raw["timezone"])),
            as_of=datetime.fromisoformat(str(raw["as_of"])),
            current=_counts_from(raw["current"]),
            previous=_counts_from(raw["previous"]),
            by_rep=tuple(
                (None if rep is None else str(rep), _counts_from(c)) for rep, c in raw["by_rep"]
            ),
            top_sources=tuple((str(src), _counts_from(c)) for src, c in raw["top_sources"]),
            trend=tuple(TrendPoint.from_dict(p) for p in raw["trend"]),
        )


_COUNT_FIELDS = ("handed_off", "excluded", "pending", "ignored", "on_time", "late", "rejected")


def _counts_record(counts: Counts) -> dict[str, int | float | None]:
    record: dict[str, int | float | None] = {f: getattr(counts, f) for f in _COUNT_FIELDS}
    record["median_first_action_seconds"] = counts.median_first_action_seconds
    return record


def _counts_from(raw: Mapping[str, Any]) -> Counts:
    median = raw.get("median_first_action_seconds")
    return Counts(
        **{f: int(raw[f]) for f in _COUNT_FIELDS},
        median_first_action_seconds=None if median is None else float(median),
    )


def trend_weeks(week: IsoWeek, count: int = TREND_WEEKS) -> list[IsoWeek]:
    """The `count` weeks ending with `week`, oldest first."""
    return [week.shift(-n) for n in range(count - 1, -1, -1)]

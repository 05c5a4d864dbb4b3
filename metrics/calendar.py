"""Business time: weekly working windows in local wall time, minus holidays.

Windows are wall-clock times, so a DST change moves them in UTC; a window that a
spring-forward gap cuts has fewer real minutes, and one that holds a repeated
fall-back hour has more. All arithmetic on instants is done in UTC: adding a
timedelta to an aware local datetime is wall-clock arithmetic in Python, which is
wrong for elapsed minutes across a DST change.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from metrics.errors import CalendarError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3700  # about ten years: a calendar that never opens must fail, not spin
DAYS_KEPT = 40_000  # days whose windows a calendar remembers (a century and more)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Window:
    """One working window of a day: minutes after local midnight, start < end <= 1440."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= 1440:
            raise CalendarError(f"a window needs 00:00 <= start < end <= 24:00, got {self}")

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


WeeklyHours = Mapping[int, tuple[Window, ...]]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days(key: str) -> list[int]:
    days: list[int] = []
    for part in key.lower().replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        for name in (first, last) if dash else (first,):
            if name not in DAYS:
                raise CalendarError(f'"{key}": unknown day "{name}"; days are {", ".join(DAYS)}')
        lo, hi = DAYS.index(first), DAYS.index(last if dash else first)
        if lo > hi:
            raise CalendarError(f'"{key}": "{part}" runs backwards; write ranges as mon-fri')
        days.extend(range(lo, hi + 1))
    return days


def _minute(text: str, key: str) -> int:
    match = _HHMM.match(text.strip())
    if match:
        hours, minutes = int(match[1]), int(match[2])
        if (hours < 24 and minutes < 60) or (hours == 24 and minutes == 0):
            return hours * 60 + minutes
    raise CalendarError(f'"{key}": "{text.strip()}" is not a time; expected HH:MM such as 09:00')


def _windows(value: str, key: str) -> tuple[Window, ...]:
    windows = []
    for part in value.split(","):
        start, dash, end = part.partition("-")
        if not dash:
            raise CalendarError(f'"{key}": "{part.strip()}" is not a window; expected HH:MM-HH:MM')
        a, b = _minute(start, key), _minute(end, key)
        if a >= b:
            raise CalendarError(f'"{key}": "{part.strip()}" ends before it starts')
        windows.append(Window(a, b))
    windows.sort(key=lambda w: w.start)
    for before, after in pairwise(windows):
        if after.start < before.end:
            raise CalendarError(f'"{key}": windows {before} and {after} overlap')
    return tuple(windows)


def parse_weekly_hours(spec: Mapping[str, str]) -> dict[int, tuple[Window, ...]]:
    """{"mon-thu": "08:30-12:00,13:00-17:30", "fri": "08:30-15:00"} -> weekday -> windows."""
    week: dict[int, tuple[Window, ...]] = {}
    named_by: dict[int, str] = {}
    for key, value in spec.items():
        windows = _windows(str(value), key)
        for day in _days(key):
            if day in week:
                raise CalendarError(f'"{key}": {DAYS[day]} is already given by "{named_by[day]}"')
            week[day] = windows
            named_by[day] = key
    if not week:
        raise CalendarError('no working hours given; expected e.g. {mon-fri: "09:00-18:00"}')
    return week


@lru_cache(maxsize=65536)
def _day_windows(
    tz: ZoneInfo, windows: tuple[Window, ...], day: date
) -> tuple[tuple[datetime, datetime], ...]:
    return tuple((_at(day, w.start, tz), _at(day, w.end, tz)) for w in windows)


def _at(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock minute of `day`. A time in a spring-forward gap
    resolves (fold=0) to the instant the clocks jumped, so the gap has no minutes."""
    if minute == 1440:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return local.astimezone(UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: ZoneInfo
    weekly: WeeklyHours
    holidays: Container[date] = frozenset()
    _week: tuple[tuple[Window, ...], ...] = field(init=False, repr=False, compare=False)
    # each day's windows once worked out (a holiday lookup and a time zone conversion a
    # window): an import of a million leads asks about the same few hundred days
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        week = tuple(tuple(self.weekly.get(d, ())) for d in range(7))
        if not any(week):
            raise CalendarError("a calendar needs at least one working window")
        object.__setattr__(self, "_week", week)
        object.__setattr__(self, "_days", {})

    def windows_on(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's working intervals as UTC instants; () on holidays and days off."""
        known = self._days.get(day)
        if known is not None:
            return known
        windows = self._week[day.weekday()]
        found = (
            () if not windows or day in self.holidays else _day_windows(self.timezone, windows, day)
        )
        if len(self._days) >= DAYS_KEPT:
            self._days.clear()
        self._days[day] = found
        return found

    def add_business_minutes(self, start: datetime, minutes: int) -> datetime:
        """`start` plus `minutes` of working time, in the calendar's zone. Outside hours the
        clock starts at the next opening; ending exactly at a closing gives that closing."""
        cursor = _utc(start)
        if minutes < 0:
            raise CalendarError(f"cannot add a negative number of minutes ({minutes})")
        remaining = timedelta(minutes=minutes)
        day = cursor.astimezone(self.timezone).date()
        for _ in range(MAX_DAYS):
            for opens, closes in self.windows_on(day):
                if closes <= cursor:
                    continue
                begin = max(opens, cursor)
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(self.timezone)
                remaining -= available
            day += timedelta(days=1)
        raise CalendarError(f"no working time in the {MAX_DAYS} days after {start.isoformat()}")

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself inside a window, else the start of the next one."""
        return self.add_business_minutes(at, 0)

    def business_minutes_between(self, start: datetime, end: datetime) -> float:
        a, b = _utc(start), _utc(end)
        if b <= a:
            return 0.0
        total = timedelta()
        day = a.astimezone(self.timezone).date()
        last = b.astimezone(self.timezone).date()
        while day <= last:
            for opens, closes in self.windows_on(day):
                lo, hi = max(opens, a), min(closes, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 60


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CalendarError(f"{moment.isoformat()} has no time zone; business time needs one")
    return moment.astimezone(UTC)


def guaranteed_minutes(weekly: WeeklyHours, days_off: int, days: int = MAX_DAYS) -> int:
    """Business minutes that `add_business_minutes` is sure to find within its `days`
    walked days, from any start, when at most `days_off` of those days are holidays.

    The first day may already be over, so only the full weeks of the remaining days
    count, each holiday may take the longest working day of the week with it, and each
    year's spring-forward may cut an hour out of a window. A deadline of more minutes
    than this may lie beyond the walk and cannot be computed.
    """
    per_week = sum(w.end - w.start for windows in weekly.values() for w in windows)
    longest_day = max((sum(w.end - w.start for w in ws) for ws in weekly.values()), default=0)
    spring_forwards = days // 365 + 1
    return max(0, (days - 1) // 7 * per_week - days_off * longest_day - 60 * spring_forwards)

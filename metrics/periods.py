"""Periods a person types (`last-month`, `先月`, `2026-Q3`, `2026-10-01..2026-10-15`), read
as local calendar days; `Period.bounds(tz)` turns them into instants. Weeks start on
Monday. Anything else is an error listing the accepted forms: never a guess."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from metrics.errors import PeriodError
from metrics.instants import SUPPORTED_DAYS, OutOfRangeError, check_days

ACCEPTED_FORMS = (
    "today",
    "yesterday",
    "this-week",
    "last-week",
    "this-month",
    "last-month",
    "this-quarter",
    "last-quarter",
    "this-year",
    "last-year",
    "last-N-days",
    "last-N-weeks",
    "YYYY-MM-DD",
    "YYYY-MM",
    "YYYY-Qn",
    "YYYY-Www",
    "YYYY",
    "START..END",
    "今日",
    "昨日",
    "今週",
    "先週",
    "今月",
    "先月",
    "今四半期",
    "前四半期",
    "今年",
    "昨年",
    "過去N日",
)
MAX_DAYS = 3660
MAX_WEEKS = 520


@dataclass(frozen=True)
class Period:
    """Local days [first_day, end_day) and the text that named them."""

    name: str
    first_day: date
    end_day: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) at local midnight in `tz`."""
        return (
            datetime.combine(self.first_day, time(0), tzinfo=tz),
            datetime.combine(self.end_day, time(0), tzinfo=tz),
        )

    def contains_day(self, day: date) -> bool:
        return self.first_day <= day < self.end_day

    @property
    def days(self) -> int:
        return (self.end_day - self.first_day).days


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month(year: int, month: int) -> tuple[date, date]:
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, 1), end


def _quarter(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, end


def _previous_month(today: date) -> tuple[date, date]:
    first_of_this = today.replace(day=1)
    last_of_previous = first_of_this - timedelta(days=1)
    return _month(last_of_previous.year, last_of_previous.month)


def _quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def _previous_quarter(today: date) -> tuple[date, date]:
    q = _quarter_of(today)
    return _quarter(today.year, q - 1) if q > 1 else _quarter(today.year - 1, 4)


NAMED: dict[str, Callable[[date], tuple[date, date]]] = {
    "today": lambda d: (d, d + timedelta(days=1)),
    "yesterday": lambda d: (d - timedelta(days=1), d),
    "this-week": lambda d: (_monday(d), _monday(d) + timedelta(days=7)),
    "last-week": lambda d: (_monday(d) - timedelta(days=7), _monday(d)),
    "this-month": lambda d: _month(d.year, d.month),
    "last-month": _previous_month,
    "this-quarter": lambda d: _quarter(d.year, _quarter_of(d)),
    "last-quarter": _previous_quarter,
    "this-year": lambda d: (date(d.year, 1, 1), date(d.year + 1, 1, 1)),
    "last-year": lambda d: (date(d.year - 1, 1, 1), date(d.year, 1, 1)),
}
JAPANESE = {
    "今日": "today",
    "昨日": "yesterday",
    "今週": "this-week",
    "先週": "last-week",
    "今月": "this-month",
    "先月": "last-month",
    "今四半期": "this-quarter",
    "前四半期": "last-quarter",
    "今年": "this-year",
    "昨年": "last-year",
}
_LAST_N = re.compile(r"^last-(\d+)-(days?|weeks?)$")
_KAKO_N = re.compile(r"^過去(\d+)日(間)?$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-q(\d)$")
_WEEK = re.compile(r"^(\d{4})-w(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def _normalise(text: str) -> str:
    # NFKC turns full-width digits and letters (IME input) into ASCII: "過去７日" -> "過去7日".
    return unicodedata.normalize("NFKC", text).strip().lower()


class _InvalidError(Exception):
    """A form that matched but names no real period; the detail says why."""


class _UnknownError(Exception):
    """Text that is none of the forms."""


def _last_n(match: re.Match[str], today: date) -> tuple[date, date]:
    n = int(match[1])
    weeks = match.re is _LAST_N and match[2].startswith("week")
    limit = MAX_WEEKS if weeks else MAX_DAYS
    if not 1 <= n <= limit:
        raise _InvalidError(f"N must be between 1 and {limit}")
    if weeks:
        end = _monday(today) + timedelta(days=7)
        return end - timedelta(weeks=n), end
    end = today + timedelta(days=1)
    return end - timedelta(days=n), end


def _range(match: re.Match[str], _today: date) -> tuple[date, date]:
    first, last = _date(match[1]), _date(match[2])
    if last < first:
        raise _InvalidError(f"{first.isoformat()} is after {last.isoformat()}")
    return first, last + timedelta(days=1)


def _one_day(match: re.Match[str], _today: date) -> tuple[date, date]:
    day = _date(match[0])
    return day, day + timedelta(days=1)


def _one_month(match: re.Match[str], _today: date) -> tuple[date, date]:
    month = int(match[2])
    if not 1 <= month <= 12:
        raise _InvalidError(f"there is no month {month}")
    return _month(int(match[1]), month)


def _one_quarter(match: re.Match[str], _today: date) -> tuple[date, date]:
    quarter = int(match[2])
    if not 1 <= quarter <= 4:
        raise _InvalidError(f"quarters are Q1 to Q4, not Q{quarter}")
    return _quarter(int(match[1]), quarter)


def _one_week(match: re.Match[str], _today: date) -> tuple[date, date]:
    year, week = int(match[1]), int(match[2])
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise _InvalidError(f"{year} has no ISO week {week}") from None
    return monday, monday + timedelta(days=7)


def _one_year(match: re.Match[str], _today: date) -> tuple[date, date]:
    year = int(match[1])
    if year < 1:
        raise _InvalidError("there is no year 0")
    return date(year, 1, 1), date(year + 1, 1, 1)


_RANGE = re.compile(r"^(\S+?)\s*\.\.\s*(\S+)$")
FORMS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], date], tuple[date, date]]], ...] = (
    (_LAST_N, _last_n),
    (_KAKO_N, _last_n),
    (_RANGE, _range),
    (_DAY, _one_day),
    (_MONTH, _one_month),
    (_QUARTER, _one_quarter),
    (_WEEK, _one_week),
    (_YEAR, _one_year),
)


def parse_period(text: str, today: date) -> Period:
    """The period `text` names, relative to the local date `today`. Every day of it must
    be a supported day (metrics.instants): a report cannot count outside them."""
    name = _normalise(text)
    key = JAPANESE.get(name, name)
    try:
        period = Period(name, *NAMED[key](today)) if key in NAMED else _matched(name, today)
        check_days(period.first_day, period.end_day, "period")
    except _UnknownError:
        raise PeriodError(text.strip(), ACCEPTED_FORMS) from None
    except _InvalidError as err:
        raise PeriodError(text.strip(), ACCEPTED_FORMS, str(err)) from None
    except (OutOfRangeError, ValueError, OverflowError):  # e.g. year 0001, 9999, or 2100
        raise PeriodError(
            text.strip(), ACCEPTED_FORMS, f"outside the supported days, {SUPPORTED_DAYS}"
        ) from None
    return period


def _matched(name: str, today: date) -> Period:
    for pattern, bounds in FORMS:
        if match := pattern.match(name):
            return Period(name, *bounds(match, today))
    raise _UnknownError


def _date(text: str) -> date:
    if not _DAY.match(text):
        raise _InvalidError(f'"{text}" is not a date YYYY-MM-DD')
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _InvalidError(f"{text} is not a calendar date") from None


def iso_week_label(day: date) -> str:
    """`2026-W48` for any day of that ISO week."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"

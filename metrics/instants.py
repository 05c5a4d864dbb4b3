"""The instants the product supports, and the one check every door applies.

A handoff, an action, a report's period and its "as of" moment must fall in
[1970-01-01T00:00:00Z, 2100-01-01T00:00:00Z). Why these bounds:

- before the Unix epoch no CRM, form or chat tool has a timestamp to send us;
- the country holiday data (`holidays`) ends with 2099: a business calendar after
  that would silently have no public holidays;
- with the configured maximum SLA and nudge delays (bot/config.py), every deadline
  computed from a supported instant stays far inside Python's and the databases'
  ranges, so no computation downstream can overflow.

Anything outside is refused where it enters, naming the field, never stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from metrics.errors import MetricsError

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
END = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2099, 12, 31)
SUPPORTED = "from 1970-01-01T00:00:00Z up to, not including, 2100-01-01T00:00:00Z"
SUPPORTED_DAYS = "from 1970-01-01 to 2099-12-31"


class OutOfRangeError(MetricsError):
    """An instant or a day the product does not support; names the field."""

    def __init__(self, field: str, value: str, supported: str = SUPPORTED) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: {value} is outside the supported range ({supported})")


def is_supported(moment: datetime) -> bool:
    """Whether an aware `moment` lies in [EARLIEST, END)."""
    return EARLIEST <= moment < END


def check_instant(moment: datetime, field: str) -> datetime:
    """`moment` itself if supported; else OutOfRangeError naming `field`."""
    if moment.tzinfo is None:
        raise ValueError(f"{field}: a naive datetime has no instant")
    if not is_supported(moment):
        raise OutOfRangeError(field, moment.isoformat())
    return moment


def check_days(first_day: date, end_day: date, field: str) -> None:
    """Local days [first_day, end_day) must lie within FIRST_DAY..LAST_DAY."""
    if first_day < FIRST_DAY or end_day > date(2100, 1, 1):
        last = date.fromordinal(max(end_day.toordinal() - 1, 1))
        raise OutOfRangeError(field, f"{first_day}..{last}", SUPPORTED_DAYS)

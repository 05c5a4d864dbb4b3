"""When a lead's SLA runs out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from metrics.calendar import BusinessCalendar
from metrics.errors import MetricsError


@dataclass(frozen=True)
class SlaPolicy:
    """`minutes` to first action; counted in business time, or as elapsed time when not."""

    minutes: int
    business_hours: bool = True

    def __post_init__(self) -> None:
        if self.minutes <= 0:
            raise MetricsError(f"an SLA needs a positive number of minutes, got {self.minutes}")


def due_at(handed_off_at: datetime, policy: SlaPolicy, calendar: BusinessCalendar) -> datetime:
    """The SLA deadline in UTC. Fixed at handoff: reassignment never moves it.

    Without business hours the minutes are elapsed time (1440 minutes is 24 hours even
    across a DST change), which is what "wall time" means for a stopwatch.
    """
    if handed_off_at.tzinfo is None:
        raise MetricsError("handed_off_at must carry a time zone offset")
    if policy.business_hours:
        return calendar.add_business_minutes(handed_off_at, policy.minutes).astimezone(UTC)
    return handed_off_at.astimezone(UTC) + timedelta(minutes=policy.minutes)

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from metrics.calendar import BusinessCalendar, parse_weekly_hours
from metrics.errors import MetricsError
from metrics.sla import SlaPolicy, due_at

NY = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


def _calendar(tz: ZoneInfo) -> BusinessCalendar:
    return BusinessCalendar(tz, parse_weekly_hours({"mon-fri": "09:00-18:00"}))


def test_wall_time_sla_counts_elapsed_time_across_the_dst_change() -> None:
    # Saturday 2026-03-07 12:00 EST + 24 h elapsed = Sunday 13:00 EDT (clocks went forward).
    handed = datetime(2026, 3, 7, 12, 0, tzinfo=NY)
    due = due_at(handed, SlaPolicy(1440, business_hours=False), _calendar(NY))
    assert due == datetime(2026, 3, 8, 17, 0, tzinfo=UTC)
    assert due.astimezone(NY).hour == 13


def test_business_sla_skips_the_weekend_and_returns_utc() -> None:
    handed = datetime(2026, 11, 20, 17, 30, tzinfo=TOKYO)  # Friday
    due = due_at(handed, SlaPolicy(60, business_hours=True), _calendar(TOKYO))
    assert due == datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # Monday 09:30 JST
    assert due.tzinfo is UTC


def test_sla_needs_positive_minutes() -> None:
    with pytest.raises(MetricsError, match="positive number of minutes"):
        SlaPolicy(0)


def test_handoff_without_offset_is_refused() -> None:
    with pytest.raises(MetricsError, match="time zone offset"):
        due_at(datetime(2026, 1, 1), SlaPolicy(60), _calendar(TOKYO))  # noqa: DTZ001 (the point)

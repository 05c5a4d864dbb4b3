"""When a weekly summary is due: once per ISO week, at the team's local wall time, across
daylight-saving changes; and what a summary compares."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.nudges import SummaryPolicy
from metrics.rates import Counts
from metrics.summary import (
    Direction,
    IsoWeek,
    Verdict,
    WeekError,
    compare,
    due_summary,
    parse_week,
    scheduled_at,
    top_sources,
    trend_weeks,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_9 = SummaryPolicy(weekday=0, at=time(9, 0))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def walk(
    tz: ZoneInfo, policy: SummaryPolicy, start: datetime, end: datetime
) -> tuple[list[datetime], list[str]]:
    """Ticks every minute from `start` to `end`: the moments a summary became due (None
    before, due now) and the weeks seen due, in order."""
    became_due: list[datetime] = []
    weeks: list[str] = []
    before = due_summary(tz, policy, start)
    if before is not None:
        weeks.append(before.week)
    now = start
    while now < end:
        due = due_summary(tz, policy, now)
        if due is not None:
            assert due.week == str(IsoWeek.of(now.astimezone(tz).date()))
            assert due.scheduled_at <= now
            if before is None:
                became_due.append(now)
            if not weeks or weeks[-1] != due.week:
                weeks.append(due.week)
        before = due
        now += timedelta(minutes=1)
    return became_due, weeks


@pytest.mark.parametrize(
    ("tz", "change_day", "expected_utc", "expected_local"),
    [
        # US spring forward (Sun 2026-03-08): Monday 09:00 is 09:00 EDT, 13:00 UTC
        (NEW_YORK, date(2026, 3, 8), utc(2026, 3, 9, 13), "2026-03-09 09:00 EDT"),
        # EU spring forward (Sun 2026-03-29): 09:00 CEST, 07:00 UTC
        (BERLIN, date(2026, 3, 29), utc(2026, 3, 30, 7), "2026-03-30 09:00 CEST"),
        # EU fall back (Sun 2026-10-25): 09:00 CET, 08:00 UTC
        (BERLIN, date(2026, 10, 25), utc(2026, 10, 26, 8), "2026-10-26 09:00 CET"),
        # US fall back (Sun 2026-11-01): 09:00 EST, 14:00 UTC
        (NEW_YORK, date(2026, 11, 1), utc(2026, 11, 2, 14), "2026-11-02 09:00 EST"),
    ],
)
def test_monday_9am_summary_stays_at_9am_local_after_a_clock_change(
    tz: ZoneInfo, change_day: date, expected_utc: datetime, expected_local: str
) -> None:
    start = datetime.combine(change_day, time(0), tzinfo=UTC) - timedelta(days=3)
    became_due, weeks = walk(tz, MONDAY_9, start, start + timedelta(days=6))
    assert became_due == [expected_utc]
    assert expected_utc.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") == expected_local
    previous, current = (IsoWeek.of(expected_utc.date()).shift(n) for n in (-1, 0))
    assert weeks == [str(previous), str(current)]


@pytest.mark.parametrize(
    ("tz", "at", "change_day", "expected_utc", "expected_local"),
    [
        # 02:30 does not exist on these days: the first instant after the gap, 03:00
        (NEW_YORK, time(2, 30), date(2026, 3, 8), utc(2026, 3, 8, 7), "03:00 EDT"),
        (BERLIN, time(2, 30), date(2026, 3, 29), utc(2026, 3, 29, 1), "03:00 CEST"),
        # it exists twice on these: the first time
        (BERLIN, time(2, 30), date(2026, 10, 25), utc(2026, 10, 25, 0, 30), "02:30 CEST"),
        (NEW_YORK, time(1, 30), date(2026, 11, 1), utc(2026, 11, 1, 5, 30), "01:30 EDT"),
    ],
)
def test_sunday_summary_on_a_change_day_is_due_once_after_the_gap_or_at_the_first_time(
    tz: ZoneInfo, at: time, change_day: date, expected_utc: datetime, expected_local: str
) -> None:
    policy = SummaryPolicy(weekday=6, at=at)
    start = datetime.combine(change_day, time(0), tzinfo=UTC) - timedelta(days=2)
    became_due, weeks = walk(tz, policy, start, start + timedelta(days=5))
    assert became_due == [expected_utc]
    assert expected_utc.astimezone(tz).strftime("%H:%M %Z") == expected_local
    assert weeks == [str(IsoWeek.of(change_day))]


def test_a_summary_is_still_due_hours_after_its_moment_and_until_the_week_ends() -> None:
    monday_9 = utc(2026, 11, 30, 14)  # 09:00 EST
    assert due_summary(NEW_YORK, MONDAY_9, monday_9 - timedelta(minutes=1)) is None
    late = due_summary(NEW_YORK, MONDAY_9, monday_9 + timedelta(hours=5))
    assert late is not None
    assert late.week == "2026-W49"
    assert late.reported_week == "2026-W48"
    assert late.scheduled_at == monday_9
    sunday_night = due_summary(NEW_YORK, MONDAY_9, utc(2026, 12, 7, 4, 59))  # Sun 23:59 EST
    assert sunday_night is not None
    assert sunday_night.week == "2026-W49"
    assert due_summary(NEW_YORK, MONDAY_9, utc(2026, 12, 7, 5)) is None  # Mon 00:00


def test_a_disabled_summary_is_never_due() -> None:
    policy = SummaryPolicy(enabled=False)
    assert due_summary(BERLIN, policy, utc(2026, 11, 25, 12)) is None


ZONES = st.sampled_from(
    [
        "UTC",
        "America/New_York",
        "Europe/Berlin",
        "Asia/Tokyo",
        "Australia/Lord_Howe",  # a 30-minute change
        "America/Santiago",  # changes at midnight
        "Pacific/Chatham",
    ]
)


@given(
    now=st.datetimes(
        min_value=datetime(2000, 1, 3),  # noqa: DTZ001 (hypothesis wants naive bounds)
        max_value=datetime(2090, 12, 25),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    zone=ZONES,
    weekday=st.integers(0, 6),
    at=st.times(),
)
def test_the_due_week_is_the_current_local_week_and_its_moment_has_come(
    now: datetime, zone: str, weekday: int, at: time
) -> None:
    tz = ZoneInfo(zone)
    policy = SummaryPolicy(weekday=weekday, at=at.replace(microsecond=0))
    current = IsoWeek.of(now.astimezone(tz).date())
    scheduled = scheduled_at(current, policy, tz)
    due = due_summary(tz, policy, now)
    if due is None:
        assert scheduled > now
    else:
        assert due.week == str(current)
        assert due.scheduled_at == scheduled <= now
    local = scheduled.astimezone(tz).replace(tzinfo=None)
    asked = datetime.combine(current.day(weekday), policy.at)
    assert local >= asked
    if local != asked:  # the clocks skipped it: the first instant after the gap
        one_second_earlier = (scheduled - timedelta(seconds=1)).astimezone(tz)
        assert one_second_earlier.replace(tzinfo=None) < asked


# ---------------------------------------------------------------- weeks


@pytest.mark.parametrize("text", ["2026-W47", "2026-w47", " 2026-W47 ", "２０２６-Ｗ４７"])
def test_an_iso_week_is_read_in_its_usual_spellings(text: str) -> None:
    assert parse_week(text) == IsoWeek(2026, 47)
    assert str(parse_week(text)) == "2026-W47"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("2026-47", None),
        ("W47", None),
        ("2026-W7", None),
        ("last-week", None),
        ("2025-W53", "2025 has no ISO week 53"),
        ("2026-W00", "2026 has no ISO week 0"),
    ],
)
def test_a_bad_week_is_refused_naming_the_accepted_form(text: str, detail: str | None) -> None:
    with pytest.raises(WeekError) as caught:
        parse_week(text)
    assert "YYYY-Www" in str(caught.value)
    assert "2026-W47" in str(caught.value)
    if detail:
        assert detail in str(caught.value)


def test_the_trend_is_the_eight_weeks_ending_with_the_week_across_a_new_year() -> None:
    weeks = [str(w) for w in trend_weeks(IsoWeek(2027, 3))]
    assert weeks == [
        "2026-W49",
        "2026-W50",
        "2026-W51",
        "2026-W52",
        "2026-W53",
        "2027-W01",
        "2027-W02",
        "2027-W03",
    ]


# ---------------------------------------------------------------- comparisons


def test_ignore_rate_going_up_is_an_up_arrow_and_bad() -> None:
    change = compare(35.0, 30.0, up_is_good=False)
    assert change is not None
    assert (change.arrow, change.verdict) == ("↑", Verdict.BAD)
    assert change.delta == pytest.approx(5.0)


def test_sal_rate_going_up_is_an_up_arrow_and_good() -> None:
    change = compare(70.0, 60.0, up_is_good=True)
    assert change is not None
    assert (change.arrow, change.verdict) == ("↑", Verdict.GOOD)


def test_breach_rate_going_down_is_a_down_arrow_and_good() -> None:
    change = compare(10.0, 25.0, up_is_good=False)
    assert change is not None
    assert (change.direction, change.arrow, change.verdict) == (Direction.DOWN, "↓", Verdict.GOOD)


def test_a_change_too_small_to_show_is_flat_and_neutral() -> None:
    change = compare(30.02, 30.0, up_is_good=False)
    assert change is not None
    assert (change.arrow, change.verdict) == ("→", Verdict.NEUTRAL)


def test_no_arrow_when_either_week_had_nothing_to_count() -> None:
    assert compare(None, 30.0, up_is_good=False) is None
    assert compare(30.0, None, up_is_good=True) is None


def test_top_sources_are_the_three_worst_with_leads_to_count() -> None:
    by_source = [
        ("ads", Counts(handed_off=4, ignored=1, on_time=3)),  # 25 %
        ("event", Counts(handed_off=2, ignored=2)),  # 100 %
        ("fresh", Counts(handed_off=5, pending=5)),  # nothing counted
        ("partner", Counts(handed_off=4, ignored=2, on_time=2)),  # 50 %
        ("web", Counts(handed_off=10, ignored=1, on_time=9)),  # 10 %
    ]
    assert [name for name, _ in top_sources(by_source)] == ["event", "partner", "ads"]
    assert top_sources([("fresh", Counts(handed_off=5, pending=5))]) == ()

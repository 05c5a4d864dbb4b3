from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.calendar import BusinessCalendar, Window, parse_weekly_hours
from metrics.errors import CalendarError

TOKYO = ZoneInfo("Asia/Tokyo")
NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = parse_weekly_hours({"mon-fri": "09:00-18:00"})


def cal(
    tz: ZoneInfo, hours: dict[str, str] | None = None, holidays: frozenset[date] = frozenset()
) -> BusinessCalendar:
    return BusinessCalendar(tz, parse_weekly_hours(hours) if hours else OFFICE, holidays)


# The spec's three worked examples.


def test_lead_handed_off_saturday_is_due_tuesday_10am_after_monday_holiday() -> None:
    tokyo = cal(TOKYO, holidays=frozenset({date(2026, 11, 23)}))
    due = tokyo.add_business_minutes(datetime(2026, 11, 21, 14, 0, tzinfo=TOKYO), 60)
    assert due == datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)
    assert due.hour == 10  # not 15:00, the time of day of the handoff


def test_friday_evening_lead_in_new_york_is_due_monday_after_spring_forward() -> None:
    due = cal(NY).add_business_minutes(datetime(2026, 3, 6, 17, 30, tzinfo=NY), 120)
    assert due.astimezone(UTC) == datetime(2026, 3, 9, 14, 30, tzinfo=UTC)
    assert due.utcoffset() == timedelta(hours=-4)
    assert (due.hour, due.minute) == (10, 30)


def test_berlin_lunch_break_and_fall_back_weekend() -> None:
    berlin = cal(BERLIN, {"mon-thu": "08:30-12:00,13:00-17:30", "fri": "08:30-15:00"})
    due = berlin.add_business_minutes(datetime(2026, 10, 23, 14, 30, tzinfo=BERLIN), 120)
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert (due.hour, due.minute) == (10, 0)


# DST days, with a window spanning the changed hour.

NIGHT = {"sun": "00:00-06:00"}


@pytest.mark.parametrize(
    ("tz", "day", "minutes"),
    [
        (NY, date(2026, 3, 8), 300),  # US spring forward: 02:00 -> 03:00
        (BERLIN, date(2026, 3, 29), 300),  # EU spring forward: 02:00 -> 03:00
        (BERLIN, date(2026, 10, 25), 420),  # EU fall back: 03:00 -> 02:00
        (NY, date(2026, 11, 1), 420),  # US fall back: 02:00 -> 01:00
    ],
)
def test_window_across_a_dst_change_has_its_real_minutes(
    tz: ZoneInfo, day: date, minutes: int
) -> None:
    night = cal(tz, NIGHT)
    ((opens, closes),) = night.windows_on(day)
    assert (closes - opens) == timedelta(minutes=minutes)
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    assert night.business_minutes_between(start, start + timedelta(hours=12)) == minutes
    # the whole window used up lands exactly on its closing, 06:00 local
    due = night.add_business_minutes(start, minutes)
    assert (due.hour, due.minute, due.date()) == (6, 0, day)


def test_spring_forward_gap_removes_the_minutes_it_swallows() -> None:
    gap = cal(NY, {"sun": "02:00-04:00,12:00-13:00"})
    (a, b), _ = gap.windows_on(date(2026, 3, 8))
    assert b - a == timedelta(minutes=60)
    inside_gap = cal(NY, {"sun": "02:30-03:30,12:00-13:00"})
    (a, b), _ = inside_gap.windows_on(date(2026, 3, 8))
    assert b - a == timedelta(0)


def test_minutes_counted_across_us_spring_forward_in_utc() -> None:
    night = cal(NY, NIGHT)
    start = datetime(2026, 3, 8, 1, 30, tzinfo=NY)  # 06:30 UTC
    assert night.add_business_minutes(start, 60).astimezone(UTC) == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )


def test_minutes_counted_across_eu_fall_back_in_utc() -> None:
    night = cal(BERLIN, NIGHT)
    start = datetime(2026, 10, 25, 1, 30, tzinfo=BERLIN)  # CEST, 23:30 UTC the day before
    due = night.add_business_minutes(start, 120)
    assert due.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert due.utcoffset() == timedelta(hours=1)  # 02:30 CET, the second 02:30


# Ordinary cases.


def test_sla_ending_at_closing_time_is_due_at_closing_not_next_morning() -> None:
    due = cal(TOKYO).add_business_minutes(datetime(2026, 11, 24, 17, 0, tzinfo=TOKYO), 60)
    assert due == datetime(2026, 11, 24, 18, 0, tzinfo=TOKYO)


def test_start_inside_a_window_counts_from_the_start() -> None:
    due = cal(TOKYO).add_business_minutes(datetime(2026, 11, 24, 10, 15, tzinfo=TOKYO), 30)
    assert due == datetime(2026, 11, 24, 10, 45, tzinfo=TOKYO)


def test_start_before_opening_counts_from_opening() -> None:
    due = cal(TOKYO).add_business_minutes(datetime(2026, 11, 24, 6, 0, tzinfo=TOKYO), 30)
    assert due == datetime(2026, 11, 24, 9, 30, tzinfo=TOKYO)


def test_lunch_break_is_skipped() -> None:
    lunch = cal(BERLIN, {"mon-fri": "08:30-12:00,13:00-17:30"})
    due = lunch.add_business_minutes(datetime(2026, 11, 24, 11, 30, tzinfo=BERLIN), 60)
    assert due == datetime(2026, 11, 24, 13, 30, tzinfo=BERLIN)


def test_zero_minutes_is_now_inside_hours_and_next_opening_outside() -> None:
    tokyo = cal(TOKYO)
    inside = datetime(2026, 11, 24, 11, 0, tzinfo=TOKYO)
    assert tokyo.add_business_minutes(inside, 0) == inside
    friday_night = datetime(2026, 11, 27, 20, 0, tzinfo=TOKYO)
    assert tokyo.next_opening(friday_night) == datetime(2026, 11, 30, 9, 0, tzinfo=TOKYO)


def test_start_in_another_time_zone_is_the_same_instant() -> None:
    start_utc = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    due = cal(TOKYO).add_business_minutes(start_utc, 90)
    assert due == datetime(2026, 11, 24, 10, 30, tzinfo=TOKYO)
    assert due.tzinfo == TOKYO


def test_naive_start_is_refused() -> None:
    with pytest.raises(CalendarError, match="no time zone"):
        cal(TOKYO).add_business_minutes(datetime(2026, 11, 24, 9, 0), 10)  # noqa: DTZ001 (the point)


def test_calendar_without_windows_is_refused() -> None:
    with pytest.raises(CalendarError, match="at least one working window"):
        BusinessCalendar(TOKYO, {})


def test_calendar_that_never_opens_fails_instead_of_looping() -> None:
    class Always:
        def __contains__(self, _day: object) -> bool:
            return True

    closed = BusinessCalendar(TOKYO, OFFICE, Always())
    with pytest.raises(CalendarError, match="no working time"):
        closed.add_business_minutes(datetime(2026, 11, 24, 9, 0, tzinfo=TOKYO), 1)


# Reading business hours from the config.


def test_weekly_hours_accept_ranges_lists_and_several_windows() -> None:
    week = parse_weekly_hours(
        {"Mon-Thu": "08:30-12:00, 13:00-17:30", "fri": "08:30-15:00", "sat,sun": "10:00-24:00"}
    )
    assert week[0] == (Window(510, 720), Window(780, 1050))
    assert week[4] == (Window(510, 900),)
    assert week[5] == week[6] == (Window(600, 1440),)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"mon-fry": "09:00-18:00"},
            '"mon-fry": unknown day "fry"; days are mon, tue, wed, thu, fri, sat, sun',
        ),
        ({"fri-mon": "09:00-18:00"}, '"fri-mon" runs backwards'),
        ({"mon": "9am-6pm"}, '"mon": "9am" is not a time; expected HH:MM'),
        ({"mon": "09:00"}, '"mon": "09:00" is not a window; expected HH:MM-HH:MM'),
        ({"mon": "18:00-09:00"}, '"mon": "18:00-09:00" ends before it starts'),
        ({"mon": "25:00-26:00"}, '"25:00" is not a time'),
        ({"mon": "09:00-13:00,12:00-18:00"}, "windows 09:00-13:00 and 12:00-18:00 overlap"),
        (
            {"mon-fri": "09:00-18:00", "fri": "09:00-12:00"},
            '"fri": fri is already given by "mon-fri"',
        ),
        ({}, "no working hours given"),
    ],
)
def test_bad_weekly_hours_say_what_is_wrong(spec: dict[str, str], message: str) -> None:
    with pytest.raises(CalendarError) as caught:
        parse_weekly_hours(spec)
    assert message in str(caught.value)


# Properties.

CALENDARS = [
    cal(NY),
    cal(BERLIN, {"mon-thu": "08:30-12:00,13:00-17:30", "fri": "08:30-15:00"}),
    cal(TOKYO, holidays=frozenset({date(2026, 11, 23), date(2026, 12, 31)})),
    cal(NY, {"sun": "00:00-06:00", "wed": "01:00-03:00"}),
]
# hypothesis takes naive bounds and attaches the zone itself
starts = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001
    max_value=datetime(2027, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
calendars = st.sampled_from(CALENDARS)
minutes = st.integers(0, 10_000)


@given(calendars, starts, minutes)
def test_adding_business_minutes_never_goes_back_and_counts_exactly(
    calendar: BusinessCalendar, start: datetime, n: int
) -> None:
    due = calendar.add_business_minutes(start, n)
    assert due >= start
    assert abs(calendar.business_minutes_between(start, due) - n) < 1e-9


@given(calendars, starts, minutes, minutes)
def test_more_minutes_never_give_an_earlier_deadline(
    calendar: BusinessCalendar, start: datetime, a: int, b: int
) -> None:
    lo, hi = sorted((a, b))
    assert calendar.add_business_minutes(start, lo) <= calendar.add_business_minutes(start, hi)


@given(calendars, starts, st.integers(1, 5000), minutes)
def test_adding_in_two_steps_equals_adding_once(
    calendar: BusinessCalendar, start: datetime, a: int, b: int
) -> None:
    once = calendar.add_business_minutes(start, a + b)
    twice = calendar.add_business_minutes(calendar.add_business_minutes(start, a), b)
    if b == 0:
        # a deadline ending exactly at a closing is that closing (what a card shows), and
        # no time added from a closing starts at the next opening: the same business
        # moment, named twice (hypothesis found it: Berlin, 3000 minutes, lunch at 12:00)
        assert twice == calendar.next_opening(once)
        assert calendar.business_minutes_between(once, twice) == 0
    else:
        assert once == twice

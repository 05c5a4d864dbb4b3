from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.errors import PeriodError
from metrics.periods import ACCEPTED_FORMS, NAMED, Period, iso_week_label, parse_period

TODAY = date(2026, 11, 24)  # a Tuesday


def days(text: str, today: date = TODAY) -> tuple[date, date]:
    p = parse_period(text, today)
    return p.first_day, p.end_day


def test_spec_example_last_month_in_tokyo() -> None:
    start, end = parse_period("last-month", TODAY).bounds(ZoneInfo("Asia/Tokyo"))
    assert start.isoformat() == "2026-10-01T00:00:00+09:00"
    assert end.isoformat() == "2026-11-01T00:00:00+09:00"


@pytest.mark.parametrize(
    ("text", "first", "end"),
    [
        ("today", date(2026, 11, 24), date(2026, 11, 25)),
        ("yesterday", date(2026, 11, 23), date(2026, 11, 24)),
        ("this-week", date(2026, 11, 23), date(2026, 11, 30)),
        ("last-week", date(2026, 11, 16), date(2026, 11, 23)),
        ("this-month", date(2026, 11, 1), date(2026, 12, 1)),
        ("last-month", date(2026, 10, 1), date(2026, 11, 1)),
        ("this-quarter", date(2026, 10, 1), date(2027, 1, 1)),
        ("last-quarter", date(2026, 7, 1), date(2026, 10, 1)),
        ("this-year", date(2026, 1, 1), date(2027, 1, 1)),
        ("last-year", date(2025, 1, 1), date(2026, 1, 1)),
        ("last-7-days", date(2026, 11, 18), date(2026, 11, 25)),
        ("last-1-days", date(2026, 11, 24), date(2026, 11, 25)),
        ("last-2-weeks", date(2026, 11, 16), date(2026, 11, 30)),
        ("2026-10-05", date(2026, 10, 5), date(2026, 10, 6)),
        ("2026-02", date(2026, 2, 1), date(2026, 3, 1)),
        ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1)),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-W47", date(2026, 11, 16), date(2026, 11, 23)),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 5)),
        ("2026", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-10-01..2026-10-15", date(2026, 10, 1), date(2026, 10, 16)),
        ("2026-10-01 .. 2026-10-01", date(2026, 10, 1), date(2026, 10, 2)),
        ("今日", date(2026, 11, 24), date(2026, 11, 25)),
        ("昨日", date(2026, 11, 23), date(2026, 11, 24)),
        ("今週", date(2026, 11, 23), date(2026, 11, 30)),
        ("先週", date(2026, 11, 16), date(2026, 11, 23)),
        ("今月", date(2026, 11, 1), date(2026, 12, 1)),
        ("先月", date(2026, 10, 1), date(2026, 11, 1)),
        ("今四半期", date(2026, 10, 1), date(2027, 1, 1)),
        ("前四半期", date(2026, 7, 1), date(2026, 10, 1)),
        ("今年", date(2026, 1, 1), date(2027, 1, 1)),
        ("昨年", date(2025, 1, 1), date(2026, 1, 1)),
        ("過去7日", date(2026, 11, 18), date(2026, 11, 25)),
        ("過去７日", date(2026, 11, 18), date(2026, 11, 25)),  # full-width digit from an IME
        ("２０２６－Ｑ３", date(2026, 7, 1), date(2026, 10, 1)),
    ],
)
def test_every_form_names_the_right_days(text: str, first: date, end: date) -> None:
    assert days(text) == (first, end)


@pytest.mark.parametrize(
    "text", ["LAST-MONTH", "Last-Month", "2026-q3", "2026-w47", " today ", "THIS-WEEK"]
)
def test_forms_are_case_insensitive_and_trimmed(text: str) -> None:
    assert days(text) == days(text.strip().lower())


@pytest.mark.parametrize(
    ("today", "text", "first", "end"),
    [
        (date(2026, 1, 1), "last-month", date(2025, 12, 1), date(2026, 1, 1)),
        (date(2026, 1, 1), "last-quarter", date(2025, 10, 1), date(2026, 1, 1)),
        (date(2026, 1, 1), "last-year", date(2025, 1, 1), date(2026, 1, 1)),
        (date(2026, 1, 1), "yesterday", date(2025, 12, 31), date(2026, 1, 1)),
        (date(2026, 11, 23), "this-week", date(2026, 11, 23), date(2026, 11, 30)),  # Monday
        (date(2026, 11, 29), "this-week", date(2026, 11, 23), date(2026, 11, 30)),  # Sunday
        (date(2026, 11, 29), "last-week", date(2026, 11, 16), date(2026, 11, 23)),
        (date(2026, 12, 31), "this-year", date(2026, 1, 1), date(2027, 1, 1)),
        (date(2026, 3, 31), "this-quarter", date(2026, 1, 1), date(2026, 4, 1)),
    ],
)
def test_edge_days(today: date, text: str, first: date, end: date) -> None:
    assert days(text, today) == (first, end)


def test_bounds_across_a_dst_change_keep_local_midnight() -> None:
    start, end = parse_period("2026-03", TODAY).bounds(ZoneInfo("America/New_York"))
    assert start.utcoffset() == timedelta(hours=-5)
    assert end.utcoffset() == timedelta(hours=-4)
    assert (start.hour, end.hour) == (0, 0)


def test_iso_weeks_with_and_without_a_53rd() -> None:
    assert days("2020-W53") == (date(2020, 12, 28), date(2021, 1, 4))
    assert days("2026-W53") == (date(2026, 12, 28), date(2027, 1, 4))  # 2026 starts on a Thursday
    with pytest.raises(PeriodError, match="2025 has no ISO week 53"):
        parse_period("2025-W53", TODAY)


def test_iso_week_label_at_year_boundaries() -> None:
    assert iso_week_label(date(2026, 11, 24)) == "2026-W48"
    assert iso_week_label(date(2025, 12, 29)) == "2026-W01"
    assert iso_week_label(date(2027, 1, 3)) == "2026-W53"
    assert iso_week_label(date(2021, 1, 3)) == "2020-W53"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("last month", None),
        ("lastmonth", None),
        ("先々月", None),
        ("last-0-days", "N must be between 1 and 3660"),
        ("last-9999-weeks", "N must be between 1 and 520"),
        ("2026-02-30", "2026-02-30 is not a calendar date"),
        ("2026-13", "there is no month 13"),
        ("2026-Q5", "quarters are Q1 to Q4, not Q5"),
        ("2026-W54", "2026 has no ISO week 54"),
        ("2026-10-15..2026-10-01", "2026-10-15 is after 2026-10-01"),
        ("2026-10..2026-11", '"2026-10" is not a date YYYY-MM-DD'),
        ("", None),
        ("9999", "outside the supported days, from 1970-01-01 to 2099-12-31"),
        ("9999-12", "outside the supported days"),
        ("0001", "outside the supported days, from 1970-01-01 to 2099-12-31"),
        ("1969-12-31", "outside the supported days"),
        ("1969-12-31..1970-01-02", "outside the supported days"),
        ("2100", "outside the supported days"),
        ("2099-12-31..2100-01-01", "outside the supported days"),
        ("2100-W01", "outside the supported days"),
        ("2026-10-01..10000-01-01", '"10000-01-01" is not a date'),
    ],
)
def test_anything_else_is_an_error_listing_the_forms(text: str, detail: str | None) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, TODAY)
    message = str(caught.value)
    assert f"unknown period {text!r}" in message
    assert "last-N-days" in message
    assert "先月" in message
    assert caught.value.accepted == ACCEPTED_FORMS
    if detail:
        assert detail in message


@pytest.mark.parametrize(
    ("text", "today", "first", "end"),
    [
        ("1970", TODAY, date(1970, 1, 1), date(1971, 1, 1)),
        ("2099-12-31", TODAY, date(2099, 12, 31), date(2100, 1, 1)),
        ("1970-01-01..2099-12-31", TODAY, date(1970, 1, 1), date(2100, 1, 1)),
        ("this-year", date(2099, 12, 31), date(2099, 1, 1), date(2100, 1, 1)),
        ("today", date(1970, 1, 1), date(1970, 1, 1), date(1970, 1, 2)),
    ],
)
def test_periods_at_the_edges_of_the_supported_days_are_read(
    text: str, today: date, first: date, end: date
) -> None:
    assert days(text, today) == (first, end)


@pytest.mark.parametrize(
    ("text", "today"),
    [
        ("last-7-days", date(1970, 1, 3)),
        ("this-week", date(1970, 1, 1)),  # a Thursday: its Monday is in 1969
        ("last-month", date(1970, 1, 15)),
        ("this-week", date(2099, 12, 31)),  # the week runs into 2100
        ("today", date(2100, 1, 1)),
        ("yesterday", date(1, 1, 1)),
        ("this-year", date(9999, 6, 1)),
    ],
)
def test_a_relative_period_reaching_outside_the_supported_days_is_refused(
    text: str, today: date
) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, today)
    assert "outside the supported days, from 1970-01-01 to 2099-12-31" in str(caught.value)
    assert "last-N-days" in str(caught.value)


# Properties.

today_st = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 6, 30))


@given(today_st, st.sampled_from(sorted(NAMED)))
def test_named_periods_are_nonempty_and_this_ones_hold_today(today: date, name: str) -> None:
    p = parse_period(name, today)
    assert p.first_day < p.end_day
    if name.startswith("this-") or name == "today":
        assert p.contains_day(today)
    if name.startswith("last-") or name == "yesterday":
        assert p.end_day <= today or p.contains_day(today - timedelta(days=1))


@given(today_st, st.integers(1, 3660))
def test_last_n_days_has_n_days_ending_today(today: date, n: int) -> None:
    p = parse_period(f"last-{n}-days", today)
    assert p.days == n
    assert p.end_day == today + timedelta(days=1)


@given(today_st, today_st)
def test_a_date_is_that_day_and_its_week_contains_it(day: date, today: date) -> None:
    assert days(day.isoformat(), today) == (day, day + timedelta(days=1))
    assert parse_period(iso_week_label(day), today).contains_day(day)


period_like = st.one_of(
    st.text(max_size=30),
    st.from_regex(
        r"\A(\d{1,5}(-(q\d|w\d{1,2}|\d{1,2}(-\d{1,2})?))?|last-\d{1,6}-(days|weeks)|過去\d{1,6}日)\Z"
    ),
)


@given(period_like, today_st)
def test_arbitrary_text_gives_a_period_or_a_period_error(text: str, today: date) -> None:
    try:
        p = parse_period(text, today)
    except PeriodError:
        return
    assert isinstance(p, Period)
    assert p.first_day < p.end_day


def test_bounds_are_aware_local_midnights() -> None:
    start, _ = parse_period("today", TODAY).bounds(ZoneInfo("Asia/Tokyo"))
    assert start == datetime(2026, 11, 24, tzinfo=ZoneInfo("Asia/Tokyo"))

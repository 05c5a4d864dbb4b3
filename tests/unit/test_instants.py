from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.errors import MetricsError
from metrics.instants import (
    EARLIEST,
    END,
    OutOfRangeError,
    check_days,
    check_instant,
    is_supported,
)

OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59+00:00"]
)
def test_far_instants_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(OutOfRangeError) as caught:
        check_instant(datetime.fromisoformat(text), "handed_off_at")
    assert caught.value.field == "handed_off_at"
    assert str(caught.value).startswith("handed_off_at: ")
    assert "1970-01-01" in str(caught.value)
    assert isinstance(caught.value, MetricsError)


def test_bounds_are_half_open() -> None:
    assert check_instant(EARLIEST, "at") == EARLIEST
    assert is_supported(END - timedelta(microseconds=1))
    assert not is_supported(END)
    assert not is_supported(EARLIEST - timedelta(microseconds=1))


def test_a_naive_datetime_is_no_instant() -> None:
    with pytest.raises(ValueError, match="naive"):
        check_instant(datetime(2026, 1, 1), "at")  # noqa: DTZ001 (the point of the test)


@given(st.datetimes(timezones=OFFSETS))
def test_supported_is_the_utc_interval_whatever_the_offset(moment: datetime) -> None:
    offset = moment.utcoffset()
    assert offset is not None
    # timedelta arithmetic: no overflow at year 1 or 9999, unlike converting to UTC
    since_epoch = moment.replace(tzinfo=None) - EARLIEST.replace(tzinfo=None) - offset
    assert is_supported(moment) == (timedelta(0) <= since_epoch < END - EARLIEST)


def test_days_outside_the_supported_years_are_refused() -> None:
    check_days(date(1970, 1, 1), date(2100, 1, 1), "period")
    with pytest.raises(OutOfRangeError, match=r"period: 0001-01-01\.\.0001-12-31"):
        check_days(date(1, 1, 1), date(2, 1, 1), "period")
    with pytest.raises(OutOfRangeError, match="2099-12-31"):
        check_days(date(2099, 12, 28), date(2100, 1, 4), "period")

"""The Wilson score interval of a rate, and the rule that makes a group too small to rank."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.intervals import MIN_COUNTED, IntervalError, is_small, wilson

# Newcombe, "Two-sided confidence intervals for the single proportion: comparison of seven
# methods", Statistics in Medicine 17 (1998), 857-872, Table II, method 3 (score interval
# without continuity correction), 95 %: the paper's four examples, as proportions to four
# decimals (here in percent, so to two decimals).
NEWCOMBE_1998 = [
    (81, 263, 25.53, 36.62),
    (15, 148, 6.24, 16.05),
    (0, 20, 0.00, 16.11),
    (1, 29, 0.61, 17.18),
]


@pytest.mark.parametrize(("successes", "trials", "low", "high"), NEWCOMBE_1998)
def test_wilson_matches_newcombes_published_intervals(
    successes: int, trials: int, low: float, high: float
) -> None:
    interval = wilson(successes, trials)
    assert interval is not None
    assert interval.low == pytest.approx(low, abs=0.005)
    assert interval.high == pytest.approx(high, abs=0.005)


def test_wilson_worked_by_hand_with_z_two() -> None:
    # With z = 2 the limits are (k + 2 ± 2·sqrt(k(n-k)/n + 1)) / (n + 4).
    # 6 of 12: sqrt(6·6/12 + 1) = 2, so (8 ± 4) / 16 = 1/4 and 3/4.
    interval = wilson(6, 12, z=2)
    assert interval is not None
    assert (interval.low, interval.high) == pytest.approx((25.0, 75.0), abs=1e-9)
    # 0 of 16: sqrt(0 + 1) = 1, so (2 ± 2) / 20 = 0 and 1/5.
    interval = wilson(0, 16, z=2)
    assert interval is not None
    assert (interval.low, interval.high) == pytest.approx((0.0, 20.0), abs=1e-9)
    # 16 of 16 mirrors it: 80 % to 100 %.
    interval = wilson(16, 16, z=2)
    assert interval is not None
    assert (interval.low, interval.high) == pytest.approx((80.0, 100.0), abs=1e-9)


def test_wilson_is_never_of_zero_width_at_the_ends() -> None:
    none, every = wilson(0, 10), wilson(10, 10)
    assert none is not None
    assert every is not None
    assert none.low == 0.0
    assert none.high > 20
    assert every.high == 100.0
    assert every.low < 80


def test_no_trials_means_no_interval() -> None:
    assert wilson(0, 0) is None


@pytest.mark.parametrize(
    ("successes", "trials", "z"), [(3, 2, 1.96), (-1, 2, 1.96), (0, -1, 1.96), (1, 2, 0.0)]
)
def test_wilson_refuses_what_is_no_proportion(successes: int, trials: int, z: float) -> None:
    with pytest.raises(IntervalError):
        wilson(successes, trials, z)


@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_holds_the_observed_rate_inside_zero_to_a_hundred(pair: tuple[int, int]) -> None:
    successes, trials = pair
    interval = wilson(successes, trials)
    assert interval is not None
    rate = successes / trials * 100
    assert 0.0 <= interval.low <= rate <= interval.high <= 100.0
    assert interval.width > 0


@given(st.integers(1, 2_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_a_wider_z_gives_a_wider_interval(pair: tuple[int, int]) -> None:
    narrow, wide = wilson(*pair, z=1.645), wilson(*pair, z=2.576)
    assert narrow is not None
    assert wide is not None
    assert wide.low <= narrow.low
    assert wide.high >= narrow.high


def test_the_reasons_for_twenty_hold() -> None:
    # metrics/intervals.py and docs/why-it-moved.md give these reasons for MIN_COUNTED
    assert MIN_COUNTED == 20
    for n in range(1, MIN_COUNTED):
        assert 100 / n > 5  # one lead moves the rate by more than 5 points
        for k in range(n + 1):
            if 20 <= k / n * 100 <= 80:
                interval = wilson(k, n)
                assert interval is not None
                assert interval.width > 30
    # and the width shrinks at the ends, which is why the rule counts leads
    zero_of_ten, five_of_ten = wilson(0, 10), wilson(5, 10)
    assert zero_of_ten is not None
    assert five_of_ten is not None
    assert (zero_of_ten.low, round(zero_of_ten.high, 1)) == (0.0, 27.8)
    assert (round(five_of_ten.low, 1), round(five_of_ten.high, 1)) == (23.7, 76.3)


@pytest.mark.parametrize(
    ("counted", "small"),
    [
        ((20, 20), False),
        ((19, 500), True),  # few leads last period: its rate then is noise
        ((500, 19), True),
        ((0, 20), False),  # new this period: the period without leads does not count
        ((20, 0), False),
        ((0, 19), True),
        ((0, 0), True),  # nothing counted at all
        ((), True),
    ],
)
def test_a_group_is_small_below_twenty_in_a_period_where_it_has_leads(
    counted: tuple[int, ...], small: bool
) -> None:
    assert is_small(*counted) is small


def test_the_threshold_can_be_chosen() -> None:
    assert is_small(10, 10, min_counted=11)
    assert not is_small(10, 10, min_counted=10)

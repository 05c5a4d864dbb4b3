"""The outbox's pace and backoff on their own: no database, no network, a fixed clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import FixedClock
from bot.config import Delivery
from bot.outbox.pacing import BACKOFF_BASE, BACKOFF_CAP, Deferred, Pacer, backoff

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def test_the_pace_is_one_message_a_second_a_channel_within_a_workspace_budget() -> None:
    ticks = [0.0]
    pacer = Pacer(
        Delivery(per_channel_per_second=1, per_second=3), FixedClock(NOW), lambda: ticks[0]
    )
    pacer.take("C1")
    with pytest.raises(Deferred) as paced:
        pacer.take("C1")
    assert paced.value.wait == timedelta(seconds=1)
    assert not paced.value.written
    pacer.take("C2")
    pacer.take("C3")
    with pytest.raises(Deferred):
        pacer.take("C4")  # three a second for the whole workspace
    ticks[0] = 1.0
    pacer.take("C1")
    pacer.take("C4")
    assert pacer.soonest() == pytest.approx(0.0, abs=1.0)


def test_after_a_429_nothing_is_sent_until_retry_after_passes() -> None:
    clock = FixedClock(NOW)
    pacer = Pacer(Delivery(), clock)
    pacer.block(timedelta(seconds=10))
    with pytest.raises(Deferred) as paced:
        pacer.take("C9")
    assert paced.value.written
    clock.advance(timedelta(seconds=10))
    pacer.take("C9")


@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=2**32))
def test_backoff_doubles_up_to_a_cap_with_jitter_in_its_upper_half(tries: int, seed: int) -> None:
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (tries - 1))
    delay = backoff(tries, random.Random(seed)).total_seconds()
    assert ceiling / 2 <= delay <= ceiling

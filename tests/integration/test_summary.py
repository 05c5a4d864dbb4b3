"""The weekly summary is made once per team and ISO week, whoever ticks and however late,
with the numbers of the report for that week and team (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.app.messages import Message, SummaryPost, decode
from bot.app.reports import report
from bot.app.summaries import build_summary, enqueue_due_summaries, resend_summary
from bot.clock import FixedClock
from bot.config import Settings
from bot.slack.summary_blocks import summary_blocks
from storage.tables import OutboxMessage, WeeklySummary
from tests.integration.summary_data import seed, settings_for

OUTBOX = OutboxMessage.__table__
SUMMARIES = WeeklySummary.__table__
SEEDED_AT = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def settings(engine: Engine) -> Settings:
    s = settings_for(engine.url.render_as_string(hide_password=False))
    seed(engine, s, SEEDED_AT)
    return s


def tick(engine: Engine, settings: Settings, now: datetime) -> list[str]:
    with engine.begin() as conn:
        return enqueue_due_summaries(conn, settings, now)


def rows(engine: Engine) -> tuple[list[tuple[str, str]], list[str]]:
    with engine.connect() as conn:
        summaries = conn.execute(
            select(SUMMARIES.c.team_id, SUMMARIES.c.iso_week).order_by(SUMMARIES.c.id)
        ).all()
        keys = conn.execute(select(OUTBOX.c.key).order_by(OUTBOX.c.id)).scalars().all()
    return [(str(t), w) for t, w in summaries], list(keys)


def payloads(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        found = conn.execute(select(OUTBOX.c.key, OUTBOX.c.payload)).all()
    return {key: json.loads(payload) for key, payload in found}


def queued(engine: Engine, key: str) -> tuple[str, Message]:
    """The target and the typed message of the row `key`."""
    with engine.connect() as conn:
        target, payload = conn.execute(
            select(OUTBOX.c.target, OUTBOX.c.payload).where(OUTBOX.c.key == key)
        ).one()
    return target, decode(payload)


def test_three_weeks_of_quarter_hour_ticks_make_each_summary_exactly_once(
    engine: Engine, settings: Settings
) -> None:
    clock = FixedClock(datetime(2026, 11, 9, 5, 0, tzinfo=UTC))  # Monday 00:00 in New York
    end = clock.now() + timedelta(weeks=3)
    made: dict[str, datetime] = {}
    while clock.now() < end:
        for key in tick(engine, settings, clock.now()):
            assert key not in made
            made[key] = clock.now()
        clock.advance(timedelta(minutes=15))
    # 09:00 local on each Monday: New York on EST (14:00 UTC), Berlin on CET (08:00 UTC)
    expected = {}
    for reported, monday in (("2026-W45", 9), ("2026-W46", 16), ("2026-W47", 23)):
        for team, hour in (("east", 14), ("berlin", 8)):
            moment = datetime(2026, 11, monday, hour, tzinfo=UTC)
            expected[f"summary:{team}:{reported}"] = moment
            expected[f"summary-chart:{team}:{reported}"] = moment
    assert made == expected
    summaries, keys = rows(engine)
    assert len(summaries) == 6
    assert len(set(summaries)) == 6
    assert sorted(keys) == sorted(expected)


def test_a_tick_five_hours_late_still_makes_the_summary_once(
    engine: Engine, settings: Settings
) -> None:
    late = datetime(2026, 11, 16, 19, 0, tzinfo=UTC)  # 14:00 in New York, 20:00 in Berlin
    assert sorted(tick(engine, settings, late)) == [
        "summary-chart:berlin:2026-W46",
        "summary-chart:east:2026-W46",
        "summary:berlin:2026-W46",
        "summary:east:2026-W46",
    ]
    for minutes in range(15, 24 * 60, 15):
        assert tick(engine, settings, late + timedelta(minutes=minutes)) == []
    summaries, keys = rows(engine)
    assert len(summaries) == 2
    assert len(keys) == 4


def test_two_calls_at_the_same_instant_make_it_once(engine: Engine, settings: Settings) -> None:
    now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    first = tick(engine, settings, now)
    assert len(first) == 4
    assert tick(engine, settings, now) == []
    with engine.begin() as conn:
        assert enqueue_due_summaries(conn, settings, now) == []
        assert enqueue_due_summaries(conn, settings, now) == []
    assert len(rows(engine)[1]) == 4


def test_nothing_is_due_before_the_local_moment(engine: Engine, settings: Settings) -> None:
    # Monday 08:59 in Berlin; 03:59 in New York
    assert tick(engine, settings, datetime(2026, 11, 16, 7, 59, tzinfo=UTC)) == []
    assert rows(engine) == ([], [])


def test_teams_without_a_channel_or_with_the_summary_off_get_none(
    engine: Engine, settings: Settings
) -> None:
    tick(engine, settings, datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    keys = rows(engine)[1]
    assert keys
    assert not [k for k in keys if "quiet" in k or "nowhere" in k]


def test_the_summary_has_the_numbers_of_the_report_for_that_week_and_team(
    engine: Engine, settings: Settings
) -> None:
    now = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # Berlin's 09:00: the Sunday lead pending
    assert "summary:berlin:2026-W46" in tick(engine, settings, now)
    for team in ("east", "berlin"):
        with engine.connect() as conn:
            summary = build_summary(conn, settings, team, "2026-W46", now)
        same = report(engine, settings, "2026-W46", now, team)
        before = report(engine, settings, "2026-W45", now, team)
        assert summary.current == same.totals
        assert summary.previous == before.totals
        assert summary.by_rep == same.by_rep
        assert {name for name, _ in summary.top_sources} <= {name for name, _ in same.by_source}
        assert [p.week for p in summary.trend][-2:] == ["2026-W45", "2026-W46"]
        for point in summary.trend:
            week = report(engine, settings, point.week, now, team).totals
            assert (point.ignore_rate, point.sal_rate) == (week.ignore_rate, week.sal_rate)
    berlin = report(engine, settings, "2026-W46", now, "berlin").totals
    assert berlin.pending == 1
    assert berlin.counted > 0
    # the row holds the numbers; Slack's sender words them when it delivers the row
    channel, post = queued(engine, "summary:berlin:2026-W46")
    assert channel == "CBERLIN"
    assert isinstance(post, SummaryPost)
    with engine.connect() as conn:
        assert post.summary == build_summary(conn, settings, "berlin", "2026-W46", now)
    text, blocks = summary_blocks(post.summary, "en")
    assert f"{berlin.ignore_rate:.1f}%" in text
    shown = json.dumps(blocks, ensure_ascii=False)
    assert f"Handed off {berlin.handed_off} · counted {berlin.counted}" in shown
    assert "1 pending" in shown
    chart = payloads(engine)["summary-chart:berlin:2026-W46"]
    assert chart["kind"] == "chart"
    assert chart["channel"] == "CBERLIN"
    assert chart["filename"].endswith(".png")
    assert [p["week"] for p in chart["trend"]] == [
        f"2026-W{w}" for w in (39, 40, 41, 42, 43, 44, 45, 46)
    ]
    assert chart["trend"][-1]["ignore_rate"] == pytest.approx(berlin.ignore_rate)
    assert chart["trend"][0]["ignore_rate"] is None  # no leads then: a gap, not 0 %


def test_resend_queues_another_copy_under_numbered_keys(engine: Engine, settings: Settings) -> None:
    now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    tick(engine, settings, now)
    with engine.begin() as conn:
        first = resend_summary(conn, settings, "east", "2026-W47", now)
    with engine.begin() as conn:
        second = resend_summary(conn, settings, "east", "2026-W47", now)
    assert first == ["summary:east:2026-W47:resend-1", "summary-chart:east:2026-W47:resend-1"]
    assert second == ["summary:east:2026-W47:resend-2", "summary-chart:east:2026-W47:resend-2"]
    with engine.connect() as conn:
        made = conn.execute(select(func.count()).select_from(SUMMARIES)).scalar_one()
    assert made == 2  # resending makes no second row
    assert tick(engine, settings, now) == []


def test_a_team_passed_no_lead_in_either_week_gets_no_summary_message(engine: Engine) -> None:
    quiet = settings_for(engine.url.render_as_string(hide_password=False))
    monday_nine = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 09:00 in New York
    with engine.begin() as conn:
        assert enqueue_due_summaries(conn, quiet, monday_nine) == []  # nothing to say
        assert enqueue_due_summaries(conn, quiet, monday_nine + timedelta(hours=1)) == []
    with engine.connect() as conn:
        rows = conn.execute(select(WeeklySummary.__table__.c.outbox_key)).scalars().all()
    assert rows
    assert all(key is None for key in rows)  # the weeks are done, quietly

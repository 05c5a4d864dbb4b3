"""The SLA sweep on SQLite and PostgreSQL: what it sends, to whom, once, and when it stops."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.app.clicks import Click, act
from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.app.sweep import SweepResult, sweep
from bot.config import Settings, parse_settings
from metrics.model import ActionKind, ContactChannel
from metrics.nudges import Stage
from storage import nudges as nudge_store
from storage.tables import Lead, Nudge, OutboxMessage

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # Tuesday 10:00 in Tokyo

BASE: dict[str, Any] = {
    "timezone": "UTC",
    "teams": [
        {
            "name": "ent",
            "timezone": "UTC",
            "sla": {"minutes": 60, "business_hours": False},
            "slack_channel": "CENT",
            "managers": ["boss@example.com", "boss2@example.com"],
            "reps": ["a@example.com", "b@example.com", "c@example.com"],
            "nudges": {
                "heads_up_minutes": 15,
                "escalate_after_minutes": 30,
                "reassign_after_minutes": 90,
                "max_reassignments": 2,
            },
        }
    ],
}


def settings(**team: Any) -> Settings:
    raw = json.loads(json.dumps(BASE))
    raw["teams"][0].update(team)
    return parse_settings(raw, "test.yml", env={})


def handoff(
    engine: Engine, s: Settings, n: int, owner: str | None = "a@example.com", at: datetime = T0
) -> list[int]:
    leads = [
        LeadInput(
            source="web",
            external_id=f"L{i}",
            handed_off_at=at,
            team="ent",
            owner_email=owner,
            name=None,
            company=None,
            email=None,
            campaign=None,
        )
        for i in range(n)
    ]
    result = receive_handoffs(engine, s, leads, T0)  # received at T0, handed off at `at`
    return sorted(result.new)


def run(engine: Engine, s: Settings, minutes: float) -> SweepResult:
    with engine.begin() as conn:
        return sweep(conn, s, T0 + timedelta(minutes=minutes))


def digests(engine: Engine) -> list[dict[str, Any]]:
    table = OutboxMessage.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.c.key, table.c.payload)
            .where(table.c.key.like("digest:%"))
            .order_by(table.c.id)
        )
        return [{"key": k, **json.loads(p)} for k, p in rows]


def stages(result: SweepResult) -> list[tuple[int, Stage, int]]:
    return [(d.lead_id, d.stage, d.cycle) for d in result.decisions]


def test_nothing_is_sent_before_the_heads_up(engine: Engine) -> None:
    s = settings()
    handoff(engine, s, 3)
    assert stages(run(engine, s, 44)) == []
    assert digests(engine) == []


def test_a_rep_gets_one_digest_for_all_leads_come_due_not_one_message_each(engine: Engine) -> None:
    s = settings()
    ids = handoff(engine, s, 3)
    result = run(engine, s, 45)
    assert stages(result) == [(i, Stage.HEADS_UP, 0) for i in ids]
    sent = digests(engine)
    assert len(sent) == 1
    assert sent[0]["audience"] == "rep"
    assert sent[0]["to"] == "a@example.com"
    assert sent[0]["lead_ids"] == ids


def test_each_stage_comes_once_at_its_moment_then_the_lead_moves_round_robin(
    engine: Engine,
) -> None:
    s = settings()
    (lead,) = handoff(engine, s, 1)
    assert stages(run(engine, s, 45)) == [(lead, Stage.HEADS_UP, 0)]
    assert stages(run(engine, s, 50)) == []
    assert stages(run(engine, s, 60)) == [(lead, Stage.REMINDER, 0)]
    assert stages(run(engine, s, 61)) == []
    assert stages(run(engine, s, 90)) == [(lead, Stage.ESCALATION, 0)]
    moved = run(engine, s, 150)
    # the reassignment starts cycle 1: the new owner is reminded at once
    assert stages(moved) == [(lead, Stage.REASSIGN, 0), (lead, Stage.REMINDER, 1)]
    assert moved.reassigned == [(lead, "a@example.com", "b@example.com")]
    assert stages(run(engine, s, 180)) == [(lead, Stage.ESCALATION, 1)]
    again = run(engine, s, 240)
    assert again.reassigned == [(lead, "b@example.com", "c@example.com")]
    # max_reassignments is 2: after the second one, an escalation, then nothing more
    assert stages(run(engine, s, 270)) == [(lead, Stage.ESCALATION, 2)]
    assert stages(run(engine, s, 10_000)) == []
    with engine.connect() as conn:
        row = conn.execute(select(Lead.__table__).where(Lead.__table__.c.id == lead)).one()
        count = conn.execute(select(func.count()).select_from(Nudge.__table__)).scalar_one()
    assert row.next_nudge_at is None
    assert count == 9  # heads-up, reminder, escalation, reassign, reminder, ... once each
    to = [(d["audience"], d["to"]) for d in digests(engine)]
    assert to == [
        ("rep", "a@example.com"),
        ("rep", "a@example.com"),
        ("manager", "boss2@example.com"),
        ("manager", "boss@example.com"),
        ("rep", "b@example.com"),
        ("manager", "boss2@example.com"),
        ("manager", "boss@example.com"),
        ("rep", "c@example.com"),
        ("manager", "boss2@example.com"),
        ("manager", "boss@example.com"),
    ]


def test_a_bot_down_for_hours_sends_every_missed_stage_in_one_sweep(engine: Engine) -> None:
    s = settings(nudges={"escalate_after_minutes": 30})
    (lead,) = handoff(engine, s, 1)
    result = run(engine, s, 600)
    assert stages(result) == [(lead, Stage.REMINDER, 0), (lead, Stage.ESCALATION, 0)]
    # no heads-up after the deadline: it would have nothing to say
    assert all(d.stage is not Stage.HEADS_UP for d in result.decisions)


def test_an_action_stops_everything_for_the_lead(engine: Engine) -> None:
    s = settings()
    first, second = handoff(engine, s, 2)
    run(engine, s, 45)
    click = Click(
        lead_id=first,
        actor_email="a@example.com",
        kind=ActionKind.CONTACTED,
        at=T0 + timedelta(minutes=50),
        key="k1",
        via="test",
        channel=ContactChannel.CALL,
    )
    act(engine, s, click, T0 + timedelta(minutes=50))
    result = run(engine, s, 1000)
    assert {d.lead_id for d in result.decisions} == {second}
    assert result.stopped == 1


def test_snooze_defers_the_reminder_but_not_the_escalation(engine: Engine) -> None:
    s = settings(nudges={"escalate_after_minutes": 30})
    (lead,) = handoff(engine, s, 1)
    act(
        engine,
        s,
        Click(
            lead_id=lead,
            actor_email="a@example.com",
            kind=ActionKind.SNOOZED,
            at=T0 + timedelta(minutes=45),
            key="snooze",
            via="test",
            snooze_minutes=60,  # until 105
        ),
        T0 + timedelta(minutes=45),
    )
    assert stages(run(engine, s, 60)) == []
    assert stages(run(engine, s, 90)) == []  # the reminder waits, so the escalation too
    assert stages(run(engine, s, 105)) == [(lead, Stage.REMINDER, 0), (lead, Stage.ESCALATION, 0)]


def test_an_unassigned_lead_is_chased_in_the_team_channel(engine: Engine) -> None:
    s = settings(nudges={"escalate_after_minutes": None})
    (lead,) = handoff(engine, s, 1, owner=None)
    run(engine, s, 60)
    (digest,) = digests(engine)
    assert (digest["audience"], digest["to"], digest["lead_ids"]) == ("channel", "CENT", [lead])


def test_escalation_reaches_the_channel_when_the_team_asks(engine: Engine) -> None:
    s = settings(managers=[], nudges={"escalate_after_minutes": 30, "escalate_to_channel": True})
    handoff(engine, s, 1)
    run(engine, s, 90)
    assert [(d["audience"], d["to"]) for d in digests(engine)] == [
        ("rep", "a@example.com"),
        ("channel", "CENT"),
    ]


def test_reps_marked_away_are_skipped_by_the_round_robin(engine: Engine) -> None:
    s = settings(nudges={"reassign_after_minutes": 30, "escalate_after_minutes": None})
    (lead,) = handoff(engine, s, 1)
    with engine.begin() as conn:
        nudge_store.set_away(conn, "b@example.com", True, T0)
    result = run(engine, s, 90)
    assert result.reassigned == [(lead, "a@example.com", "c@example.com")]


def test_leads_from_before_the_lookback_are_counted_but_never_chased(engine: Engine) -> None:
    s = settings()
    old = T0 - timedelta(days=30)
    handoff(engine, s, 2, at=old)
    with engine.connect() as conn:
        pending = conn.execute(
            select(func.count())
            .select_from(Lead.__table__)
            .where(Lead.__table__.c.next_nudge_at.is_not(None))
        ).scalar_one()
    assert pending == 0
    assert stages(run(engine, s, 0)) == []


def test_two_sweeps_of_the_same_moment_send_once(engine: Engine) -> None:
    s = settings()
    handoff(engine, s, 2)
    first = run(engine, s, 60)
    second = run(engine, s, 60)
    # the reminders of both leads (a heads-up at the deadline itself has nothing to say)
    assert [d.stage for d in first.decisions] == [Stage.REMINDER, Stage.REMINDER]
    assert second.decisions == []
    assert len(digests(engine)) == 1


def test_a_dry_run_rolled_back_changes_nothing(engine: Engine) -> None:
    s = settings()
    handoff(engine, s, 2)
    with engine.connect() as conn, conn.begin() as tx:
        result = sweep(conn, s, T0 + timedelta(minutes=60))
        tx.rollback()
    assert len(result.decisions) == 2
    assert any("reminder" in line for line in result.describe())
    assert digests(engine) == []
    assert len(run(engine, s, 60).decisions) == 2


@pytest.mark.parametrize("business", [True])
def test_business_hours_delays_skip_the_night(engine: Engine, business: bool) -> None:
    # Tokyo, 09:00-18:00; handed off 17:30 with a 60-minute SLA: due 09:30 next day;
    # escalation 30 business minutes later is 10:00, not 10:00 of wall time after 09:30
    s = settings(
        timezone="Asia/Tokyo",
        sla={"minutes": 60, "business_hours": business},
        business_hours={"mon-fri": "09:00-18:00"},
        nudges={"escalate_after_minutes": 30, "heads_up_minutes": 15},
    )
    handed = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)  # 17:30 JST
    (lead,) = handoff(engine, s, 1, at=handed)
    with engine.begin() as conn:
        assert sweep(conn, s, handed + timedelta(minutes=29)).decisions == []
        heads_up = sweep(conn, s, datetime(2026, 11, 25, 0, 15, tzinfo=UTC))  # 09:15 JST
        reminder = sweep(conn, s, datetime(2026, 11, 25, 0, 30, tzinfo=UTC))
        early = sweep(conn, s, datetime(2026, 11, 25, 0, 59, tzinfo=UTC))
        escalation = sweep(conn, s, datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    assert stages(heads_up) == [(lead, Stage.HEADS_UP, 0)]
    assert stages(reminder) == [(lead, Stage.REMINDER, 0)]
    assert stages(early) == []
    assert stages(escalation) == [(lead, Stage.ESCALATION, 0)]

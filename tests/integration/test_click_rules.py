"""The click use case on SQLite and PostgreSQL, whichever door calls it (Slack, a Teams
link): a snooze of a length no card offers and a new owner outside the lead's team are
refused with nothing written; an admin's move to another team's rep is written as such."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from bot.app.clicks import Click, Result, act
from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.config import Settings, parse_settings
from metrics.model import ActionKind
from storage.tables import Action, Lead, LeadOwner

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
SETTINGS: Settings = parse_settings(
    {
        "timezone": "UTC",
        "admins": ["admin@example.com"],
        "teams": [
            {"name": "ent", "sla": {"minutes": 60}, "reps": ["a@example.com", "b@example.com"]},
            {"name": "smb", "sla": {"minutes": 60}, "reps": ["c@example.com"]},
        ],
    },
    "test.yml",
    env={},
)


def new_lead(engine: Engine) -> int:
    lead = LeadInput("web", "L1", NOW, "ent", "a@example.com", None, None, None, None)
    (lead_id,) = receive_handoffs(engine, SETTINGS, [lead], NOW).new
    return lead_id


def written(engine: Engine) -> tuple[int, int, datetime | None]:
    with engine.connect() as conn:
        actions = conn.execute(select(func.count()).select_from(Action.__table__)).scalar_one()
        owners = conn.execute(select(func.count()).select_from(LeadOwner.__table__)).scalar_one()
        snoozed = conn.execute(select(Lead.__table__.c.snoozed_until)).scalar()
    return int(actions), int(owners), snoozed


@pytest.mark.parametrize("via", ["slack", "teams"])
@pytest.mark.parametrize("minutes", [None, -60, 0, 30, 10**9])
def test_a_snooze_of_a_length_not_offered_writes_nothing(
    engine: Engine, via: str, minutes: int | None
) -> None:
    lead_id = new_lead(engine)
    before = written(engine)
    click = Click(
        lead_id, "a@example.com", ActionKind.SNOOZED, NOW, "k", via, snooze_minutes=minutes
    )
    assert act(engine, SETTINGS, click, NOW).result is Result.SNOOZE_NOT_OFFERED
    assert written(engine) == before


def test_an_offered_snooze_ends_that_long_after_the_click(engine: Engine) -> None:
    lead_id = new_lead(engine)
    at = NOW + timedelta(minutes=5)
    click = Click(
        lead_id, "a@example.com", ActionKind.SNOOZED, at, "k", "teams", snooze_minutes=240
    )
    assert act(engine, SETTINGS, click, at).result is Result.RECORDED
    assert written(engine)[2] == at + timedelta(minutes=240)


@pytest.mark.parametrize(
    ("actor", "new_owner", "result", "cross_team"),
    [
        ("a@example.com", "nobody@example.com", Result.OWNER_OUTSIDE_TEAM, None),
        ("b@example.com", "c@example.com", Result.OWNER_OUTSIDE_TEAM, None),
        ("admin@example.com", "nobody@example.com", Result.OWNER_OUTSIDE_TEAM, None),
        ("a@example.com", "b@example.com", Result.RECORDED, False),
        ("admin@example.com", "c@example.com", Result.RECORDED, True),
    ],
)
def test_who_a_lead_may_be_given_to(
    engine: Engine, actor: str, new_owner: str, result: Result, cross_team: bool | None
) -> None:
    lead_id = new_lead(engine)
    before = written(engine)
    click = Click(
        lead_id, actor, ActionKind.REASSIGNED, NOW, "k", "slack", new_owner_email=new_owner
    )
    assert act(engine, SETTINGS, click, NOW).result is result
    if cross_team is None:
        assert written(engine) == before
        return
    with engine.connect() as conn:
        recorded = conn.execute(select(LeadOwner.__table__.c.cross_team)).scalars().all()
    assert recorded == [False, cross_team]  # the owner at handoff, then this move

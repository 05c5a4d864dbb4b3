"""Writes keep the per-lead summary columns right, whatever order actions arrive in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from metrics.model import ActionKind, NewAction
from storage import leads, reports
from storage import repository as repo
from storage.tables import Lead, LeadOwner

NOW = datetime(2026, 11, 24, tzinfo=UTC)
H0 = datetime(2026, 11, 2, 0, tzinfo=UTC)


def hours(n: float) -> datetime:
    return H0 + timedelta(hours=n)


def _one_lead(engine: Engine, owner: str | None = "a@example.com") -> int:
    with engine.begin() as conn:
        team = repo.sync_teams(conn, {"t": "UTC"}, NOW)["t"]
        ids = repo.add_leads(
            conn, [repo.NewLead("web", "L1", team, hours(0), hours(4), owner_email=owner)], NOW
        )
    return ids[("web", "L1")]


def _act(
    engine: Engine, lead_id: int, key: str, at: float, kind: ActionKind, **kw: Any
) -> list[int]:
    with engine.begin() as conn:
        return repo.add_actions(
            conn,
            [NewAction(lead_id, hours(at), kind, key, "test", **kw)],
            NOW,
        )


def _lead_row(engine: Engine, lead_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(Lead.__table__).where(Lead.__table__.c.id == lead_id)).one()


def test_same_lead_twice_is_one_lead(engine: Engine) -> None:
    first = _one_lead(engine)
    with engine.begin() as conn:
        team = repo.sync_teams(conn, {"t": "UTC"}, NOW)["t"]
        again = repo.add_leads(conn, [repo.NewLead("web", "L1", team, hours(5), hours(9))], NOW)
        count = conn.execute(select(Lead.__table__.c.id)).all()
    assert again == {}
    assert [r[0] for r in count] == [first]


def test_same_action_key_is_recorded_once(engine: Engine) -> None:
    lead = _one_lead(engine)
    assert len(_act(engine, lead, "k1", 1, ActionKind.CONTACTED, channel="call")) == 1
    assert _act(engine, lead, "k1", 1, ActionKind.CONTACTED, channel="call") == []


def test_an_action_is_known_as_recorded_by_its_key_only_once_it_is(engine: Engine) -> None:
    lead = _one_lead(engine)
    with engine.connect() as conn:
        assert not leads.action_recorded(conn, "k1")
    _act(engine, lead, "k1", 1, ActionKind.CONTACTED, channel="call")
    with engine.connect() as conn:
        assert leads.action_recorded(conn, "k1")
        assert not leads.action_recorded(conn, "k2")


def test_an_earlier_action_arriving_later_becomes_the_first(engine: Engine) -> None:
    lead = _one_lead(engine)
    _act(engine, lead, "late", 6, ActionKind.CONTACTED, channel="email")
    _act(engine, lead, "early", 2, ActionKind.REJECTED, reason="no_budget")
    row = _lead_row(engine, lead)
    assert (row.first_action_at, row.first_action_kind) == (hours(2), "rejected")


def test_a_later_action_never_replaces_the_first(engine: Engine) -> None:
    lead = _one_lead(engine)
    _act(engine, lead, "a", 2, ActionKind.CONTACTED, channel="call")
    _act(engine, lead, "b", 2, ActionKind.REJECTED, reason="no_budget")  # same instant, later
    _act(engine, lead, "c", 3, ActionKind.REJECTED, reason="no_budget")
    row = _lead_row(engine, lead)
    assert (row.first_action_at, row.first_action_kind, row.first_action_channel) == (
        hours(2),
        "contacted",
        "call",
    )


def test_reassignments_keep_history_and_current_owner(engine: Engine) -> None:
    lead = _one_lead(engine)
    _act(engine, lead, "r2", 3, ActionKind.REASSIGNED, new_owner_email="c@example.com")
    _act(engine, lead, "r1", 1, ActionKind.REASSIGNED, new_owner_email="b@example.com")
    with engine.connect() as conn:
        spans = conn.execute(
            select(LeadOwner.__table__.c.since).where(LeadOwner.__table__.c.lead_id == lead)
        ).all()
    assert sorted(s[0] for s in spans) == [hours(0), hours(1), hours(3)]
    row = _lead_row(engine, lead)
    assert row.reassigned_at == hours(1)
    with engine.connect() as conn:
        owner = conn.execute(
            select(reports.owner_expression(NOW)).where(Lead.__table__.c.id == lead)
        ).scalar()
    assert owner == row.owner_id


def test_on_time_lead_is_charged_to_who_held_it_at_first_touch_not_at_deadline(
    engine: Engine,
) -> None:
    lead = _one_lead(engine)
    _act(engine, lead, "c", 1, ActionKind.CONTACTED, channel="call")
    _act(engine, lead, "r", 2, ActionKind.REASSIGNED, new_owner_email="b@example.com")
    cohort = reports.Cohort(hours(-1), hours(24), hours(10))
    with engine.connect() as conn:
        assert [rep for rep, _ in reports.by_rep(conn, cohort)] == ["a@example.com"]


def test_exclusion_is_kept_at_its_earliest(engine: Engine) -> None:
    lead = _one_lead(engine)
    _act(engine, lead, "x2", 5, ActionKind.EXCLUDED, reason="duplicate")
    _act(engine, lead, "x1", 1, ActionKind.REJECTED, reason="test_or_spam", excludes=True)
    assert _lead_row(engine, lead).excluded_at == hours(1)
    assert _lead_row(engine, lead).first_action_at is None


def test_times_are_kept_to_the_second_in_utc(engine: Engine) -> None:
    with engine.begin() as conn:
        team = repo.sync_teams(conn, {"t": "UTC"}, NOW)["t"]
        jst = datetime(2026, 11, 2, 9, 0, 0, 999_999, tzinfo=ZoneInfo("Asia/Tokyo"))
        ids = repo.add_leads(conn, [repo.NewLead("web", "T", team, jst, jst)], NOW)
    row = _lead_row(engine, ids[("web", "T")])
    assert row.handed_off_at == datetime(2026, 11, 2, 0, 0, 0, tzinfo=UTC)
    assert row.handed_off_at.tzinfo is not None


ODD = ("{a,b}", '"quoted"', "back\\slash", "NULL", " ", "é—日本", "a'b", "x" * 200)


def test_many_leads_keep_every_character_their_owners_and_are_found_again(engine: Engine) -> None:
    """More keys than one lookup takes (500), in two sources, with text that array
    literals and IN lists must escape: written once, each found again by its own key."""
    leads = [
        repo.NewLead(
            source=("web", "ads")[i % 2],
            external_id=f"{ODD[i % len(ODD)]}-{i}"[-200:],
            team_id=0,  # set below
            handed_off_at=hours(i / 60),
            due_at=hours(4 + i / 60),
            owner_email=None if i % 7 == 0 else f"rep{i % 13}@example.com",
            name=ODD[(i + 1) % len(ODD)],
            company=None if i % 3 else ODD[(i + 2) % len(ODD)],
        )
        for i in range(1203)
    ]
    with engine.begin() as conn:
        team = repo.sync_teams(conn, {"t": "UTC"}, NOW)["t"]
        leads = [replace(lead, team_id=team) for lead in leads]
        created = repo.add_leads(conn, leads, NOW)
        found = repo.find_leads(conn, [(lead.source, lead.external_id) for lead in leads])
        reps = repo.ensure_reps(conn, [lead.owner_email for lead in leads], NOW)
        rows = {
            r.id: r
            for r in conn.execute(
                select(
                    Lead.__table__.c.id,
                    Lead.__table__.c.source,
                    Lead.__table__.c.external_id,
                    Lead.__table__.c.name,
                    Lead.__table__.c.company,
                    Lead.__table__.c.owner_id,
                )
            )
        }
        history = dict(
            conn.execute(select(LeadOwner.__table__.c.lead_id, LeadOwner.__table__.c.rep_id)).all()
        )
    assert len(created) == len(leads) == len(rows) == len(history)
    assert sorted(reps) == sorted({f"rep{i % 13}@example.com" for i in range(1203) if i % 7})
    for lead in leads:
        key = (lead.source, lead.external_id)
        assert found[key].id == created[key]
        assert found[key].handed_off_at == lead.handed_off_at
        row = rows[created[key]]
        assert (row.source, row.external_id, row.name, row.company) == (
            lead.source,
            lead.external_id,
            lead.name,
            lead.company,
        )
        owner = reps.get(lead.owner_email or "")
        assert row.owner_id == owner
        assert history[created[key]] == owner
    with engine.begin() as conn:
        assert repo.add_leads(conn, leads, NOW) == {}
        assert repo.find_leads(conn, [("web", "no such lead"), ("other", "{a,b}-0")]) == {}

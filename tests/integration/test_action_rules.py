"""The SQL that finds a lead's first touch and its exclusion says what the domain says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from metrics.model import ActionKind, NewAction, is_exclusion, is_qualifying
from storage import repository as repo
from storage.action_rules import exclusion, qualifying

NOW = datetime(2026, 11, 24, tzinfo=UTC)
H0 = datetime(2026, 11, 2, 0, tzinfo=UTC)
PAIRS = [(kind, excludes) for kind in ActionKind for excludes in (False, True)]


def _every_pair(engine: Engine) -> dict[int, tuple[ActionKind, bool]]:
    with engine.begin() as conn:
        team = repo.sync_teams(conn, {"t": "UTC"}, NOW)["t"]
        lead = repo.add_leads(conn, [repo.NewLead("web", "L1", team, H0, H0)], NOW)[("web", "L1")]
        actions = [
            NewAction(
                lead,
                H0 + timedelta(minutes=i),
                kind,
                f"k{i}",
                "test",
                reason="duplicate" if excludes else None,
                excludes=excludes,
                new_owner_email="b@example.com" if kind is ActionKind.REASSIGNED else None,
            )
            for i, (kind, excludes) in enumerate(PAIRS)
        ]
        ids = repo.add_actions(conn, actions, NOW)
    return dict(zip(ids, PAIRS, strict=True))


def test_the_sql_rules_pick_the_actions_the_domain_rules_pick(engine: Engine) -> None:
    pairs = _every_pair(engine)
    with engine.connect() as conn:
        found_qualifying = set(
            conn.execute(select(repo.ACTIONS.c.id).where(qualifying(repo.ACTIONS))).scalars()
        )
        found_exclusion = set(
            conn.execute(select(repo.ACTIONS.c.id).where(exclusion(repo.ACTIONS))).scalars()
        )
    assert found_qualifying == {i for i, (k, e) in pairs.items() if is_qualifying(k, excludes=e)}
    assert found_exclusion == {i for i, (k, e) in pairs.items() if is_exclusion(k, excludes=e)}
    assert found_qualifying
    assert found_exclusion


def test_the_rules_as_the_domain_writes_them() -> None:
    assert {p for p in PAIRS if is_qualifying(p[0], excludes=p[1])} == {
        (ActionKind.CONTACTED, False),
        (ActionKind.CONTACTED, True),
        (ActionKind.REJECTED, False),
    }
    assert {p for p in PAIRS if is_exclusion(p[0], excludes=p[1])} == {
        (ActionKind.EXCLUDED, False),
        (ActionKind.EXCLUDED, True),
        (ActionKind.REJECTED, True),
    }

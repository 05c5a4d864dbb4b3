"""The export's rows: every lead handed off by the moment asked about, as it stood then,
streamed rather than read whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event

from metrics.model import ActionKind, NewAction
from storage import repository as repo
from storage.exports import LeadOutcome, lead_outcomes

NOW = datetime(2026, 11, 24, tzinfo=UTC)
H0 = datetime(2026, 11, 2, 0, tzinfo=UTC)


def hours(n: float) -> datetime:
    return H0 + timedelta(hours=n)


def _leads(engine: Engine) -> None:
    """L1 called at 1h, L2 called at 3h, L3 handed off at 5h; each due 4h after."""
    with engine.begin() as conn:
        team = repo.sync_teams(conn, {"t": "UTC"}, NOW)["t"]
        ids = repo.add_leads(
            conn,
            [
                repo.NewLead("web", "L1", team, hours(0), hours(4), owner_email="a@example.com"),
                repo.NewLead("web", "L2", team, hours(0), hours(4)),
                repo.NewLead("fair", "L3", team, hours(5), hours(9), owner_email="b@example.com"),
            ],
            NOW,
        )
        repo.add_actions(
            conn,
            [
                NewAction(
                    ids[("web", "L1")], hours(1), ActionKind.CONTACTED, "k1", "test", channel="call"
                ),
                NewAction(
                    ids[("web", "L2")],
                    hours(3),
                    ActionKind.REJECTED,
                    "k2",
                    "test",
                    reason="no_budget",
                ),
            ],
            NOW,
        )


def test_each_lead_handed_off_by_then_as_it_stood_then(engine: Engine) -> None:
    _leads(engine)
    with engine.connect() as conn:
        rows = list(lead_outcomes(conn, hours(2)))
    assert rows == [
        LeadOutcome(
            "web",
            "L1",
            "t",
            "a@example.com",
            "a@example.com",
            hours(0),
            hours(4),
            hours(1),
            "contacted:call",
            "on_time",
        ),
        # called at 3h: not known at 2h
        LeadOutcome("web", "L2", "t", None, None, hours(0), hours(4), None, None, "pending"),
    ]
    with engine.connect() as conn:
        later = list(lead_outcomes(conn, hours(10)))
    assert [(r.external_id, r.first_action_at, r.first_action_kind, r.outcome) for r in later] == [
        ("L1", hours(1), "contacted:call", "on_time"),
        ("L2", hours(3), "rejected", "on_time"),
        ("L3", None, None, "ignored"),
    ]


def test_the_rows_are_streamed_not_read_whole(engine: Engine) -> None:
    _leads(engine)
    cursors: list[Any] = []

    def seen(_conn: Any, cursor: Any, *_args: Any) -> None:
        cursors.append(cursor)

    event.listen(engine, "before_cursor_execute", seen)
    with engine.connect() as conn:
        rows = lead_outcomes(conn, hours(10))
        assert cursors == []  # a generator: nothing is asked before the first row is
        assert next(rows).external_id == "L1"
        if engine.dialect.name == "postgresql":
            import psycopg

            # a server-side cursor: PostgreSQL sends the rows a batch at a time
            assert [type(c) for c in cursors] == [psycopg.ServerCursor]
        assert [r.external_id for r in rows] == ["L2", "L3"]

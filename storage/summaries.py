"""The weekly summaries table: one row per (team, ISO week), the proof it was queued."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table

from storage import repository as repo
from storage.tables import WeeklySummary

SUMMARIES = cast(Table, WeeklySummary.__table__)


def claim_week(conn: Connection, team_id: int, week: str, key: str, now: datetime) -> bool:
    """True if this transaction made the (team, week) row: the one allowed to queue its
    summary. Another process that got there first makes this False, whichever it was."""
    stmt = (
        repo._insert(conn, SUMMARIES)
        .on_conflict_do_nothing(index_elements=["team_id", "iso_week"])
        .returning(SUMMARIES.c.id)
    )
    row = conn.execute(
        stmt, {"team_id": team_id, "iso_week": week, "outbox_key": key, "created_at": now}
    ).first()
    return row is not None

"""The weekly summaries table: one row per (team, ISO week), the proof it was queued."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, select, update

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


def made_at(conn: Connection, team_id: int, week: str) -> datetime | None:
    """When the summary of `week` was made for the team, or None if not yet."""
    return cast(
        datetime | None,
        conn.execute(
            select(SUMMARIES.c.created_at).where(
                SUMMARIES.c.team_id == team_id, SUMMARIES.c.iso_week == week
            )
        ).scalar(),
    )


def mark_quiet(conn: Connection, team_id: int, week: str) -> None:
    """The week counts as done with nothing queued (a team passed no lead in it)."""
    conn.execute(
        update(SUMMARIES)
        .where(SUMMARIES.c.team_id == team_id, SUMMARIES.c.iso_week == week)
        .values(outbox_key=None)
    )


def team_ids(conn: Connection) -> dict[str, int]:
    """Every team's row id by name (a read: `repository.sync_teams` writes missing ones)."""
    return {name: id_ for id_, name in conn.execute(select(repo.TEAMS.c.id, repo.TEAMS.c.name))}

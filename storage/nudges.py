"""What the SLA sweep reads and writes: the leads whose next nudge has come, the nudges
sent (unique per lead, kind and cycle), round-robin cursors, and the overdue lists a
digest shows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, and_, bindparam, select, update

from storage.leads import soonest_first
from storage.repository import LEADS, REPS, TEAMS, _insert
from storage.tables import Nudge

NUDGES = cast(Table, Nudge.__table__)


@dataclass(frozen=True)
class DueLead:
    id: int
    team: str
    handed_off_at: datetime
    due_at: datetime
    next_nudge_at: datetime
    stage: str | None
    cycle: int
    cycle_started_at: datetime | None
    snoozed_until: datetime | None
    open: bool  # no first action and no exclusion
    owner_id: int | None
    owner_email: str | None


def due_leads(conn: Connection, now: datetime, limit: int | None = None) -> list[DueLead]:
    """The leads whose next nudge is at or before `now`, earliest first. Reads the
    `next_nudge_at` index only: the cost follows the due leads, not the open ones."""
    query = (
        select(
            LEADS.c.id,
            TEAMS.c.name,
            LEADS.c.handed_off_at,
            LEADS.c.due_at,
            LEADS.c.next_nudge_at,
            LEADS.c.nudge_stage,
            LEADS.c.nudge_cycle,
            LEADS.c.cycle_started_at,
            LEADS.c.snoozed_until,
            and_(LEADS.c.first_action_at.is_(None), LEADS.c.excluded_at.is_(None)),
            LEADS.c.owner_id,
            REPS.c.email,
        )
        .join_from(LEADS, TEAMS, TEAMS.c.id == LEADS.c.team_id)
        .outerjoin(REPS, REPS.c.id == LEADS.c.owner_id)
        .where(LEADS.c.next_nudge_at <= now)
        .order_by(LEADS.c.next_nudge_at, LEADS.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [DueLead(*row) for row in conn.execute(query)]


@dataclass(frozen=True)
class Progress:
    """Where a lead's nudges stand after a sweep (next_at None: nothing more to send)."""

    lead_id: int
    next_at: datetime | None
    stage: str | None
    cycle: int
    cycle_started_at: datetime | None


def save_progress(conn: Connection, progress: Sequence[Progress]) -> None:
    if not progress:
        return
    conn.execute(
        update(LEADS)
        .where(LEADS.c.id == bindparam("b_id"))
        .values(
            next_nudge_at=bindparam("b_at"),
            nudge_stage=bindparam("b_stage"),
            nudge_cycle=bindparam("b_cycle"),
            cycle_started_at=bindparam("b_started"),
        ),
        [
            {
                "b_id": p.lead_id,
                "b_at": p.next_at,
                "b_stage": p.stage,
                "b_cycle": p.cycle,
                "b_started": p.cycle_started_at,
            }
            for p in progress
        ],
    )


def record_nudges(
    conn: Connection, nudges: Iterable[tuple[int, str, int, int | None]], now: datetime
) -> set[tuple[int, str, int]]:
    """Inserts (lead, kind, cycle, rep) rows; returns the keys that were new. A key
    already there was nudged before (by this process or another) and is not sent again."""
    rows = [
        {"lead_id": lead, "kind": kind, "cycle": cycle, "rep_id": rep, "created_at": now}
        for lead, kind, cycle, rep in nudges
    ]
    if not rows:
        return set()
    stmt = (
        _insert(conn, NUDGES)
        .on_conflict_do_nothing(index_elements=["lead_id", "kind", "cycle"])
        .returning(NUDGES.c.lead_id, NUDGES.c.kind, NUDGES.c.cycle)
    )
    return {(lead, kind, cycle) for lead, kind, cycle in conn.execute(stmt, rows)}


def reassign_cursor(conn: Connection, team: str) -> int:
    value = conn.execute(select(TEAMS.c.reassign_cursor).where(TEAMS.c.name == team)).scalar()
    return -1 if value is None else int(value)


def set_reassign_cursor(conn: Connection, team: str, cursor: int) -> None:
    conn.execute(update(TEAMS).where(TEAMS.c.name == team).values(reassign_cursor=cursor))


def away(conn: Connection, emails: Iterable[str]) -> set[str]:
    wanted = list(emails)
    if not wanted:
        return set()
    rows = conn.execute(select(REPS.c.email).where(REPS.c.email.in_(wanted), REPS.c.away))
    return {email for (email,) in rows}


def set_away(conn: Connection, email: str, is_away: bool, now: datetime) -> None:
    email = email.lower()
    conn.execute(
        _insert(conn, REPS).on_conflict_do_nothing(index_elements=["email"]),
        {"email": email, "created_at": now, "away": False},
    )
    conn.execute(update(REPS).where(REPS.c.email == email).values(away=is_away))


def overdue_leads(
    conn: Connection,
    now: datetime,
    *,
    owner_id: int | None = None,
    team_names: Sequence[str] = (),
    include: Sequence[int] = (),
    since: datetime | None = None,
    limit: int = 25,
) -> tuple[list[int], int]:
    """Open leads whose deadline passed after `since` (plus `include`, e.g. heads-ups not
    yet due), of one owner or of some teams, soonest deadline first; and how many."""
    where = and_(LEADS.c.first_action_at.is_(None), LEADS.c.excluded_at.is_(None))
    overdue = LEADS.c.due_at <= now
    if since is not None:
        overdue = and_(overdue, LEADS.c.due_at > since)
    if include:
        overdue = overdue | LEADS.c.id.in_(list(include))
    where = and_(where, overdue)
    if owner_id is not None:
        where = and_(where, LEADS.c.owner_id == owner_id)
    if team_names:
        team_ids = select(TEAMS.c.id).where(TEAMS.c.name.in_(list(team_names)))
        where = and_(where, LEADS.c.team_id.in_(team_ids))
    return soonest_first(conn, where, limit)

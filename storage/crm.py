"""What a CRM sync keeps: a cursor per (CRM, object), the API budget it last reported,
the ids a merge made stand for a lead, and the records written back by the bot."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Table,
    case,
    column,
    or_,
    select,
    text,
    update,
)

from storage.repository import LeadRef, _among, _insert
from storage.tables import Action, CrmAlias, CrmBudget, CrmCursor, CrmWritten, Lead, Rep

CURSORS = cast(Table, CrmCursor.__table__)
BUDGETS = cast(Table, CrmBudget.__table__)
ALIASES = cast(Table, CrmAlias.__table__)
WRITTEN = cast(Table, CrmWritten.__table__)
LEADS = cast(Table, Lead.__table__)
ACTIONS = cast(Table, Action.__table__)
REPS = cast(Table, Rep.__table__)
_ERROR_CHARS = 1000


@dataclass(frozen=True)
class CursorState:
    source: str
    object: str
    cursor_at: datetime | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    errors: int
    records: int


@dataclass(frozen=True)
class Budget:
    source: str
    used: int
    max: int
    seen_at: datetime


@dataclass(frozen=True)
class StoredAction:
    """An action as stored, for a merge to copy onto the master lead."""

    at: datetime
    kind: str
    channel: str | None
    reason: str | None
    excludes: bool
    actor_email: str | None
    via: str
    idempotency_key: str


def cursor(conn: Connection, source: str, obj: str) -> datetime | None:
    return cast(
        "datetime | None",
        conn.execute(
            select(CURSORS.c.cursor_at).where(CURSORS.c.source == source, CURSORS.c.object == obj)
        ).scalar(),
    )


def _ensure(conn: Connection, source: str, obj: str) -> None:
    conn.execute(
        _insert(conn, CURSORS).on_conflict_do_nothing(index_elements=["source", "object"]),
        {"source": source, "object": obj, "errors": 0, "records": 0},
    )


def advance(
    conn: Connection, source: str, obj: str, *, to: datetime | None, records: int, now: datetime
) -> None:
    """A page applied: the cursor moves forward to `to` (never back), the count grows and
    the error streak ends. One statement (a page of a long sync pays it each time)."""
    stmt = _insert(conn, CURSORS).values(
        source=source,
        object=obj,
        cursor_at=to,
        last_run_at=now,
        last_success_at=now,
        errors=0,
        records=records,
    )
    new = stmt.excluded
    values: dict[str, Any] = {
        "last_run_at": new.last_run_at,
        "last_success_at": new.last_success_at,
        "errors": 0,
        "records": CURSORS.c.records + new.records,
    }
    if to is not None:
        values["cursor_at"] = case(
            (
                or_(CURSORS.c.cursor_at.is_(None), new.cursor_at > CURSORS.c.cursor_at),
                new.cursor_at,
            ),
            else_=CURSORS.c.cursor_at,
        )
    conn.execute(stmt.on_conflict_do_update(index_elements=["source", "object"], set_=values))


def rewind(conn: Connection, source: str, obj: str, to: datetime | None) -> None:
    """A backfill: the cursor is set back to `to` (None: the beginning)."""
    _ensure(conn, source, obj)
    conn.execute(
        update(CURSORS).where(CURSORS.c.source == source, CURSORS.c.object == obj),
        {"cursor_at": to},
    )


def record_error(conn: Connection, source: str, obj: str, message: str, now: datetime) -> None:
    _ensure(conn, source, obj)
    conn.execute(
        update(CURSORS)
        .where(CURSORS.c.source == source, CURSORS.c.object == obj)
        .values(
            last_run_at=now,
            last_error=message[:_ERROR_CHARS],
            last_error_at=now,
            errors=CURSORS.c.errors + 1,
        )
    )


def cursors(conn: Connection, source: str | None = None) -> list[CursorState]:
    query = select(CURSORS).order_by(CURSORS.c.source, CURSORS.c.object)
    if source is not None:
        query = query.where(CURSORS.c.source == source)
    return [CursorState(**row._mapping) for row in conn.execute(query)]


def set_budget(conn: Connection, source: str, used: int, maximum: int, now: datetime) -> None:
    stmt = _insert(conn, BUDGETS)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["source"],
            set_={"used": stmt.excluded.used, "max": stmt.excluded.max, "seen_at": now},
        ),
        {"source": source, "used": used, "max": maximum, "seen_at": now},
    )


def budgets(conn: Connection) -> list[Budget]:
    return [
        Budget(**row._mapping) for row in conn.execute(select(BUDGETS).order_by(BUDGETS.c.source))
    ]


def add_alias(conn: Connection, source: str, crm_id: str, lead_id: int, now: datetime) -> None:
    """`crm_id` stands for `lead_id` from now on (a first alias stays: a merge is final)."""
    conn.execute(
        _insert(conn, ALIASES).on_conflict_do_nothing(index_elements=["source", "crm_id"]),
        {"source": source, "crm_id": crm_id, "lead_id": lead_id, "created_at": now},
    )


# A page's CRM ids are looked up in one statement, the ids in one parameter, each id one
# index probe whatever the table's size or statistics:
# - PostgreSQL: `column = ANY(:ids)` is planned once for every array (psycopg prepares a
#   statement run five times, and PostgreSQL then keeps a generic plan): that plan read
#   all the source's leads and compared each with every id in turn, 0.4 s a lookup of 500
#   ids among 10,000 leads in a sync, growing with the table. A LATERAL subquery with a
#   LIMIT is never flattened into a join, so each id is looked up by itself in the unique
#   index.
# - SQLite: `json_each` of one JSON array, the outer loop of LEFT JOINs on the unique
#   indexes; an IN list of 2,000 ids cost three times as much in SQLAlchemy's handling of
#   its 2,000 parameters as in SQLite.
_RESOLVE = {
    "postgresql": """
    SELECT k.crm_id, f.id, f.handed_off_at, f.team_id
    FROM unnest(CAST(:crm_ids AS VARCHAR[])) AS k (crm_id)
    CROSS JOIN LATERAL (
        SELECT l.id, l.handed_off_at, l.team_id, 0 AS rank
        FROM crm_aliases AS a JOIN leads AS l ON l.id = a.lead_id
        WHERE a.source = :source AND a.crm_id = k.crm_id
        UNION ALL
        SELECT l.id, l.handed_off_at, l.team_id, 1 AS rank
        FROM leads AS l
        WHERE l.source = :source AND l.external_id = k.crm_id
        ORDER BY rank
        LIMIT 1
    ) AS f
    """,
    "sqlite": """
    SELECT k.value AS crm_id, coalesce(m.id, l.id) AS id,
        coalesce(m.handed_off_at, l.handed_off_at) AS handed_off_at,
        coalesce(m.team_id, l.team_id) AS team_id
    FROM json_each(:crm_ids) AS k
    LEFT JOIN crm_aliases AS a ON a.source = :source AND a.crm_id = k.value
    LEFT JOIN leads AS m ON m.id = a.lead_id
    LEFT JOIN leads AS l ON l.source = :source AND l.external_id = k.value
    WHERE m.id IS NOT NULL OR l.id IS NOT NULL
    """,
}
_WRITTEN = {
    "postgresql": """
    SELECT k.crm_id
    FROM unnest(CAST(:crm_ids AS VARCHAR[])) AS k (crm_id)
    CROSS JOIN LATERAL (
        SELECT 1 FROM crm_written AS w
        WHERE w.source = :source AND w.crm_id = k.crm_id
        LIMIT 1
    ) AS f
    """,
    # SQLite's CROSS JOIN keeps its left table the outer loop
    "sqlite": """
    SELECT k.value AS crm_id
    FROM json_each(:crm_ids) AS k
    CROSS JOIN crm_written AS w ON w.source = :source AND w.crm_id = k.value
    """,
}
_LEAD_REF = (
    column("crm_id", String()),
    column("id", Integer()),
    column("handed_off_at", LEADS.c.handed_off_at.type),
    column("team_id", Integer()),
)


def _ids(conn: Connection, crm_ids: Iterable[str]) -> object:
    """The ids as the one parameter of `_RESOLVE` or `_WRITTEN`."""
    wanted = sorted(set(crm_ids))
    return wanted if conn.dialect.name == "postgresql" else json.dumps(wanted)


def resolve(conn: Connection, source: str, crm_ids: Iterable[str]) -> dict[str, LeadRef]:
    """CRM id -> the lead it stands for: the lead an alias (a merge) names, or else the
    lead of that id."""
    wanted = set(crm_ids)
    if not wanted:
        return {}
    query = text(_RESOLVE[conn.dialect.name]).columns(*_LEAD_REF)
    rows = conn.execute(query, {"crm_ids": _ids(conn, wanted), "source": source})
    return {crm_id: LeadRef(id_, handed, team) for crm_id, id_, handed, team in rows}


def mark_written(
    conn: Connection, source: str, crm_id: str, action_id: int | None, now: datetime
) -> None:
    conn.execute(
        _insert(conn, WRITTEN).on_conflict_do_nothing(index_elements=["source", "crm_id"]),
        {"source": source, "crm_id": crm_id, "action_id": action_id, "created_at": now},
    )


def written(conn: Connection, source: str, crm_ids: Sequence[str]) -> set[str]:
    """Which of these CRM records the bot created itself."""
    if not crm_ids:
        return set()
    query = text(_WRITTEN[conn.dialect.name]).columns(column("crm_id", String()))
    found = conn.execute(query, {"crm_ids": _ids(conn, crm_ids), "source": source})
    return set(found.scalars())


def actions_of(conn: Connection, lead_id: int, via: str) -> list[StoredAction]:
    """The actions a CRM sync (`via`) recorded on a lead, oldest first."""
    rows = conn.execute(
        select(
            ACTIONS.c.at,
            ACTIONS.c.kind,
            ACTIONS.c.channel,
            ACTIONS.c.reason,
            ACTIONS.c.excludes,
            REPS.c.email.label("actor_email"),
            ACTIONS.c.via,
            ACTIONS.c.idempotency_key,
        )
        .outerjoin(REPS, REPS.c.id == ACTIONS.c.actor_id)
        .where(ACTIONS.c.lead_id == lead_id, ACTIONS.c.via == via)
        .order_by(ACTIONS.c.at, ACTIONS.c.id)
    )
    return [StoredAction(**row._mapping) for row in rows]


@dataclass(frozen=True)
class ActionToWrite:
    """A recorded action as a write-back reads it."""

    action_id: int
    source: str  # the lead's
    lead_crm_id: str  # the lead's external id
    at: datetime
    kind: str
    channel: str | None
    reason: str | None
    actor_email: str | None


def action_to_write(conn: Connection, action_id: int) -> ActionToWrite | None:
    row = conn.execute(
        select(
            ACTIONS.c.id.label("action_id"),
            LEADS.c.source,
            LEADS.c.external_id.label("lead_crm_id"),
            ACTIONS.c.at,
            ACTIONS.c.kind,
            ACTIONS.c.channel,
            ACTIONS.c.reason,
            REPS.c.email.label("actor_email"),
        )
        .join(LEADS, LEADS.c.id == ACTIONS.c.lead_id)
        .outerjoin(REPS, REPS.c.id == ACTIONS.c.actor_id)
        .where(ACTIONS.c.id == action_id)
    ).one_or_none()
    return None if row is None else ActionToWrite(**row._mapping)


def action_ids(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """Idempotency key -> action id, for the keys recorded."""
    if not keys:
        return {}
    rows = conn.execute(
        select(ACTIONS.c.idempotency_key, ACTIONS.c.id).where(
            _among(conn, ACTIONS.c.idempotency_key, list(keys))
        )
    )
    return {key: id_ for key, id_ in rows}  # noqa: C416

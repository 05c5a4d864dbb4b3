"""Writes: leads, owners and actions, in batches, idempotent on their natural keys.

Every write path but the CSV import (webhook, Slack and Teams clicks, the sweep) goes
through `add_leads` and `add_actions`, so the per-lead summary columns (first action,
exclusion, first reassignment, current owner) are kept in step in one place. The CSV
import writes the same rows set-based (`storage.imports`);
tests/integration/test_import_set_based.py holds the two paths equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, any_, bindparam, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import ColumnElement

from metrics.model import ActionKind, NewAction
from storage.tables import Action, Lead, LeadOwner, Rep, Team

LEADS = cast(Table, Lead.__table__)
ACTIONS = cast(Table, Action.__table__)
OWNERS = cast(Table, LeadOwner.__table__)
REPS = cast(Table, Rep.__table__)
TEAMS = cast(Table, Team.__table__)


@dataclass(frozen=True)
class NewLead:
    source: str
    external_id: str
    team_id: int
    handed_off_at: datetime
    due_at: datetime
    owner_email: str | None = None
    name: str | None = None
    company: str | None = None
    email: str | None = None
    campaign: str | None = None
    next_nudge_at: datetime | None = None  # None: the SLA sweep never chases this lead
    nudge_stage: str | None = None


@dataclass(frozen=True)
class LeadRef:
    id: int
    handed_off_at: datetime
    team_id: int


def _insert(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """INSERT with ON CONFLICT, which both databases speak with the same words."""
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    return postgresql.insert(table)


def _unnest_insert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, object]],
    *,
    conflict: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple[object, ...]]:
    """PostgreSQL: many rows in one statement with one array parameter per column,
    `INSERT ... SELECT * FROM unnest(...)`. The usual batched VALUES puts every value in
    the SQL text, and psycopg parses that text in Python on every call (it caches only
    statements of at most 50 parameters): 500 leads cost 100 ms of parsing alone."""
    if not rows:
        return []
    names = list(rows[0])
    dialect = conn.dialect
    arrays: dict[str, list[object]] = {}
    casts = []
    for i, name in enumerate(names):
        column = table.c[name]
        bind = column.type.bind_processor(dialect)
        values = [row[name] for row in rows]
        arrays[f"p{i}"] = [bind(v) for v in values] if bind else values
        casts.append(f"%(p{i})b::{column.type.compile(dialect=dialect)}[]")
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608 (names from our own metadata)
        f"SELECT * FROM unnest({', '.join(casts)})"
    )
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    result = conn.exec_driver_sql(sql, arrays)
    return [tuple(r) for r in result] if returning else []


def _among(
    conn: Connection, column: ColumnElement[Any], values: Sequence[object]
) -> ColumnElement[bool]:
    """`column IN (values)`. On PostgreSQL one array parameter, `column = ANY(:values)`:
    an IN list is one parameter per value, and psycopg parses a statement of more than
    50 parameters in Python on every call (500 keys: about 10 ms a lookup)."""
    if conn.dialect.name == "postgresql":
        return column == any_(
            sql_cast(bindparam(None, list(values)), postgresql.ARRAY(column.type))
        )
    return column.in_(values)


def sync_teams(conn: Connection, teams: Mapping[str, str], now: datetime) -> dict[str, int]:
    """Makes a row for every configured team (name -> time zone); returns name -> id."""
    if teams:
        stmt = _insert(conn, TEAMS).on_conflict_do_nothing(index_elements=["name"])
        conn.execute(
            stmt, [{"name": n, "timezone": tz, "created_at": now} for n, tz in teams.items()]
        )
        for name, tz in teams.items():
            conn.execute(
                update(TEAMS).where(TEAMS.c.name == name, TEAMS.c.timezone != tz),
                {"timezone": tz},
            )
    return {name: id_ for id_, name in conn.execute(select(TEAMS.c.id, TEAMS.c.name))}


def ensure_reps(conn: Connection, emails: Iterable[str | None], now: datetime) -> dict[str, int]:
    """Rep ids for these emails (lower-cased), creating the missing ones."""
    wanted = sorted({e for e in emails if e})
    if not wanted:
        return {}
    # usually every rep is known: one SELECT, and an INSERT only for the missing ones
    found = _rep_ids(conn, wanted)
    missing = [e for e in wanted if e not in found]
    if missing:
        new = [{"email": e, "created_at": now, "away": False} for e in missing]
        if conn.dialect.name == "postgresql":
            _unnest_insert(conn, REPS, new, conflict=["email"])
        else:
            conn.execute(_insert(conn, REPS).on_conflict_do_nothing(index_elements=["email"]), new)
        # a rep another writer inserted meanwhile is read here, after the insert waited for it
        found.update(_rep_ids(conn, missing))
    return found


def _rep_ids(conn: Connection, emails: Sequence[str]) -> dict[str, int]:
    rows = conn.execute(select(REPS.c.email, REPS.c.id).where(_among(conn, REPS.c.email, emails)))
    # not dict(rows): a Result has .keys(), so dict() would read it as a mapping
    return {email: id_ for email, id_ in rows}  # noqa: C416


def find_leads(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], LeadRef]:
    """(source, external_id) -> lead, for the keys that exist."""
    found: dict[tuple[str, str], LeadRef] = {}
    by_source: dict[str, list[str]] = {}
    for source, external_id in dict.fromkeys(keys):
        by_source.setdefault(source, []).append(external_id)
    # `source = ? AND external_id IN (...)`, not a row-value IN: SQLite does not use the
    # unique index for `(source, external_id) IN (VALUES ...)` and scans every lead, which
    # made a 1M-row action import quadratic
    for source, ids in by_source.items():
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                select(
                    LEADS.c.external_id,
                    LEADS.c.id,
                    LEADS.c.handed_off_at,
                    LEADS.c.team_id,
                ).where(
                    LEADS.c.source == source,
                    _among(conn, LEADS.c.external_id, ids[start : start + 500]),
                )
            )
            for external_id, id_, handed, team_id in rows:
                found[(source, external_id)] = LeadRef(id_, handed, team_id)
    return found


def add_leads(
    conn: Connection, leads: Sequence[NewLead], now: datetime
) -> dict[tuple[str, str], int]:
    """Inserts the leads not yet known; returns (source, external_id) -> id of the new ones.

    A key already present (in the database, or earlier in the batch) is the same lead:
    it is left as it was.
    """
    batch: dict[tuple[str, str], NewLead] = {}
    for lead in leads:
        batch.setdefault((lead.source, lead.external_id), lead)
    if not batch:
        return {}
    reps = ensure_reps(conn, (lead.owner_email for lead in batch.values()), now)
    rows = [
        {
            "source": lead.source,
            "external_id": lead.external_id,
            "team_id": lead.team_id,
            "handed_off_at": lead.handed_off_at,
            "due_at": lead.due_at,
            "name": lead.name,
            "company": lead.company,
            "email": lead.email,
            "campaign": lead.campaign,
            "initial_owner_id": reps.get(lead.owner_email or ""),
            "owner_id": reps.get(lead.owner_email or ""),
            "created_at": now,
            "next_nudge_at": lead.next_nudge_at,
            "nudge_stage": lead.nudge_stage,
            "nudge_cycle": 0,
        }
        for lead in batch.values()
    ]
    if conn.dialect.name == "postgresql":
        inserted: Iterable[Sequence[Any]] = _unnest_insert(
            conn,
            LEADS,
            rows,
            conflict=["source", "external_id"],
            returning=["id", "source", "external_id", "owner_id"],
        )
    else:
        stmt = (
            _insert(conn, LEADS)
            .on_conflict_do_nothing(index_elements=["source", "external_id"])
            .returning(LEADS.c.id, LEADS.c.source, LEADS.c.external_id, LEADS.c.owner_id)
        )
        inserted = conn.execute(stmt, rows)
    created: dict[tuple[str, str], int] = {}
    owner_rows = []
    for id_, source, external_id, owner_id in inserted:
        created[(source, external_id)] = id_
        owner_rows.append(
            {
                "lead_id": id_,
                "rep_id": owner_id,
                "since": batch[(source, external_id)].handed_off_at,
            }
        )
    if owner_rows and conn.dialect.name == "postgresql":
        _unnest_insert(conn, OWNERS, owner_rows)
    elif owner_rows:
        conn.execute(OWNERS.insert(), owner_rows)
    return created


def add_actions(conn: Connection, actions: Sequence[NewAction], now: datetime) -> list[int]:
    """Appends the actions whose idempotency key is new; returns their ids in input order.

    Then moves each touched lead's summary columns to the earliest qualifying action,
    exclusion and reassignment. The conditional UPDATEs compare with what is stored, so
    actions may arrive in any order and from concurrent writers.
    """
    if not actions:
        return []
    reps = ensure_reps(conn, [e for a in actions for e in (a.actor_email, a.new_owner_email)], now)
    unique: dict[str, NewAction] = {}
    for action in actions:
        unique.setdefault(action.idempotency_key, action)
    rows = [
        {
            "lead_id": a.lead_id,
            "at": a.at,
            "kind": a.kind.value,
            "channel": a.channel,
            "reason": a.reason,
            "excludes": a.excludes,
            "actor_id": reps.get(a.actor_email or ""),
            "new_owner_id": reps.get(a.new_owner_email or ""),
            "via": a.via,
            "idempotency_key": a.idempotency_key,
            "until": a.until,
            "recorded_at": now,
        }
        for a in unique.values()
    ]
    stmt = (
        _insert(conn, ACTIONS)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(ACTIONS.c.id, ACTIONS.c.idempotency_key)
    )
    ids = {key: id_ for id_, key in conn.execute(stmt, rows)}
    inserted = [(ids[k], a) for k, a in unique.items() if k in ids]
    inserted.sort(key=lambda pair: pair[0])
    _apply_summaries(conn, inserted, reps)
    return [id_ for id_, _ in inserted]


def _apply_summaries(
    conn: Connection, inserted: list[tuple[int, NewAction]], reps: Mapping[str, int]
) -> None:
    first: dict[int, NewAction] = {}
    excluded: dict[int, datetime] = {}
    reassigned: dict[int, datetime] = {}
    owner_rows = []
    for action_id, a in inserted:  # ascending id: on equal times the earlier-recorded wins
        if a.is_qualifying and (a.lead_id not in first or a.at < first[a.lead_id].at):
            first[a.lead_id] = a
        if a.is_exclusion and (a.lead_id not in excluded or a.at < excluded[a.lead_id]):
            excluded[a.lead_id] = a.at
        if a.kind is ActionKind.REASSIGNED:
            if a.lead_id not in reassigned or a.at < reassigned[a.lead_id]:
                reassigned[a.lead_id] = a.at
            owner_rows.append(
                {
                    "lead_id": a.lead_id,
                    "rep_id": reps.get(a.new_owner_email or ""),
                    "since": a.at,
                    "action_id": action_id,
                    "cross_team": a.cross_team,
                }
            )

    def earlier(column: str) -> ColumnElement[bool]:
        col = LEADS.c[column]
        return and_(LEADS.c.id == bindparam("b_id"), or_(col.is_(None), col > bindparam("b_at")))

    if first:
        conn.execute(
            update(LEADS)
            .where(earlier("first_action_at"))
            .values(
                first_action_at=bindparam("b_at"),
                first_action_kind=bindparam("b_kind"),
                first_action_channel=bindparam("b_channel"),
            ),
            [
                {"b_id": lid, "b_at": a.at, "b_kind": a.kind.value, "b_channel": a.channel}
                for lid, a in first.items()
            ],
        )
    for column, found in (("excluded_at", excluded), ("reassigned_at", reassigned)):
        if found:
            conn.execute(
                update(LEADS).where(earlier(column)).values({column: bindparam("b_at")}),
                [{"b_id": lid, "b_at": at} for lid, at in found.items()],
            )
    if owner_rows:
        conn.execute(OWNERS.insert(), owner_rows)
        latest = (
            select(OWNERS.c.rep_id)
            .where(OWNERS.c.lead_id == LEADS.c.id)
            .order_by(OWNERS.c.since.desc(), OWNERS.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        conn.execute(
            update(LEADS)
            .where(LEADS.c.id.in_(sorted({r["lead_id"] for r in owner_rows})))
            .values(owner_id=latest)
        )


def refresh_statistics(conn: Connection) -> None:
    """After a bulk load: without fresh statistics PostgreSQL's planner takes a new
    table's `source = ?` for a few rows and filters `external_id` by hand, 130 ms a
    lookup at a million leads instead of an index probe (seen: a 1M-row action import
    after a 1M-lead import had set 14 % of first actions after 11 minutes). SQLite's
    `PRAGMA optimize` does the same where needed."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE leads, lead_owners, actions, reps")
    else:
        conn.exec_driver_sql("PRAGMA optimize")

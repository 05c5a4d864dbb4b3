"""What the bot reads and writes about single leads and people: the facts a lead card
shows, Slack identities, and the claims that make two simultaneous clicks one action."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, and_, bindparam, case, func, select, update
from sqlalchemy.sql.expression import ColumnElement

from metrics.views import LeadView, Person
from storage.action_rules import exclusion, qualifying
from storage.outbox import Status
from storage.repository import ACTIONS, LEADS, REPS, TEAMS, _insert
from storage.tables import OutboxMessage, SlackEvent

OUTBOX = cast(Table, OutboxMessage.__table__)


def _person(row: Any, prefix: str) -> Person | None:
    id_ = row._mapping[f"{prefix}_id"]
    if id_ is None:
        return None
    m = row._mapping
    return Person(
        id_, m[f"{prefix}_email"], m[f"{prefix}_slack"], m[f"{prefix}_tz"], m[f"{prefix}_name"]
    )


def _person_columns(alias: Any, prefix: str) -> list[Any]:
    return [
        alias.c.id.label(f"{prefix}_id"),
        alias.c.email.label(f"{prefix}_email"),
        alias.c.slack_user_id.label(f"{prefix}_slack"),
        alias.c.timezone.label(f"{prefix}_tz"),
        alias.c.display_name.label(f"{prefix}_name"),
    ]


@functools.cache
def _lead_views_query() -> Select[Any]:
    """Built once: its four aliases cost more to build than the query takes to run (a
    profile of 50 concurrent clicks found a tenth of the bot's CPU rebuilding them)."""
    owner = REPS.alias("owner")
    actor = REPS.alias("actor")
    first = ACTIONS.alias("first")
    excl = ACTIONS.alias("excl")
    first_id = (
        select(ACTIONS.c.id)
        .where(
            ACTIONS.c.lead_id == LEADS.c.id,
            ACTIONS.c.at == LEADS.c.first_action_at,
            qualifying(ACTIONS),
        )
        .order_by(ACTIONS.c.id)
        .limit(1)
        .scalar_subquery()
    )
    excl_id = (
        select(ACTIONS.c.id)
        .where(
            ACTIONS.c.lead_id == LEADS.c.id,
            ACTIONS.c.at == LEADS.c.excluded_at,
            exclusion(ACTIONS),
        )
        .order_by(ACTIONS.c.id)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            LEADS,
            TEAMS.c.name.label("team_name"),
            *_person_columns(owner, "own"),
            *_person_columns(actor, "act"),
            first.c.reason.label("first_reason"),
            excl.c.reason.label("excl_reason"),
        )
        .join_from(LEADS, TEAMS, TEAMS.c.id == LEADS.c.team_id)
        .outerjoin(owner, owner.c.id == LEADS.c.owner_id)
        .outerjoin(first, first.c.id == first_id)
        .outerjoin(actor, actor.c.id == first.c.actor_id)
        .outerjoin(excl, excl.c.id == excl_id)
        .where(LEADS.c.id.in_(bindparam("lead_ids", expanding=True)))
    )


def lead_views(conn: Connection, lead_ids: Sequence[int]) -> dict[int, LeadView]:
    if not lead_ids:
        return {}
    query = _lead_views_query()
    out = {}
    for row in conn.execute(query, {"lead_ids": list(lead_ids)}):
        m = row._mapping
        out[m["id"]] = LeadView(
            id=m["id"],
            source=m["source"],
            external_id=m["external_id"],
            team=m["team_name"],
            handed_off_at=m["handed_off_at"],
            due_at=m["due_at"],
            name=m["name"],
            company=m["company"],
            email=m["email"],
            campaign=m["campaign"],
            owner=_person(row, "own"),
            first_action_at=m["first_action_at"],
            first_action_kind=m["first_action_kind"],
            first_action_channel=m["first_action_channel"],
            first_actor=_person(row, "act"),
            first_reason=m["first_reason"],
            excluded_at=m["excluded_at"],
            exclusion_reason=m["excl_reason"],
            snoozed_until=m["snoozed_until"],
        )
    return out


def lead_view(conn: Connection, lead_id: int) -> LeadView | None:
    return lead_views(conn, [lead_id]).get(lead_id)


def person_by_slack_id(conn: Connection, user_id: str) -> Person | None:
    row = conn.execute(
        select(*_person_columns(REPS, "p")).where(REPS.c.slack_user_id == user_id)
    ).first()
    return _person(row, "p") if row else None


def person_by_id(conn: Connection, rep_id: int) -> Person | None:
    row = conn.execute(select(*_person_columns(REPS, "p")).where(REPS.c.id == rep_id)).first()
    return _person(row, "p") if row else None


def person_by_email(conn: Connection, email: str) -> Person | None:
    row = conn.execute(
        select(*_person_columns(REPS, "p")).where(REPS.c.email == email.lower())
    ).first()
    return _person(row, "p") if row else None


def remember_slack_user(
    conn: Connection,
    email: str,
    *,
    user_id: str,
    timezone: str | None,
    display_name: str | None,
    now: datetime,
) -> None:
    """Ties a Slack user to the rep with this email (creating the rep if new). A Slack id
    moves to the newest email it was seen with."""
    email = email.lower()
    conn.execute(
        update(REPS)
        .where(REPS.c.slack_user_id == user_id, REPS.c.email != email)
        .values(slack_user_id=None)
    )
    conn.execute(
        _insert(conn, REPS).on_conflict_do_nothing(index_elements=["email"]),
        {"email": email, "created_at": now, "away": False},
    )
    conn.execute(
        update(REPS)
        .where(REPS.c.email == email)
        .values(slack_user_id=user_id, timezone=timezone, display_name=display_name)
    )


def dm_channel(conn: Connection, rep_id: int) -> str | None:
    """The bot's DM channel with the rep, once a message there told us its id."""
    return cast(
        str | None,
        conn.execute(select(REPS.c.slack_dm_channel).where(REPS.c.id == rep_id)).scalar(),
    )


def remember_dm_channel(conn: Connection, rep_id: int, channel: str) -> None:
    conn.execute(update(REPS).where(REPS.c.id == rep_id).values(slack_dm_channel=channel))


def action_recorded(conn: Connection, idempotency_key: str) -> bool:
    """Whether an action with this idempotency key is already recorded: a click sent twice
    (a retried request, a double tap) is told so before anything is decided. One lookup on
    the key's unique index, in the caller's transaction."""
    found = conn.execute(
        select(ACTIONS.c.id).where(ACTIONS.c.idempotency_key == idempotency_key)
    ).first()
    return found is not None


def action_ids(conn: Connection, idempotency_keys: Sequence[str]) -> dict[str, int]:
    """The ids of the recorded actions among these idempotency keys, by key (a key not
    recorded is left out). One lookup on the keys' unique index, in the caller's
    transaction."""
    keys = sorted(set(idempotency_keys))
    if not keys:
        return {}
    rows = conn.execute(
        select(ACTIONS.c.idempotency_key, ACTIONS.c.id).where(ACTIONS.c.idempotency_key.in_(keys))
    ).all()
    return {str(key): int(id_) for key, id_ in rows}


def claim_first_action(
    conn: Connection, lead_id: int, at: datetime, kind: str, channel: str | None
) -> bool:
    """Marks the lead's first qualifying action, if it has none yet. Of two writers at
    once, exactly one sees `True`: the row is locked by the UPDATE (PostgreSQL re-checks
    the WHERE after the lock; SQLite has one writer at a time)."""
    result = conn.execute(
        update(LEADS)
        .where(LEADS.c.id == lead_id, LEADS.c.first_action_at.is_(None))
        .values(first_action_at=at, first_action_kind=kind, first_action_channel=channel)
    )
    return result.rowcount == 1


def claim_exclusion(conn: Connection, lead_id: int, at: datetime) -> bool:
    result = conn.execute(
        update(LEADS)
        .where(LEADS.c.id == lead_id, LEADS.c.excluded_at.is_(None))
        .values(excluded_at=at)
    )
    return result.rowcount == 1


def set_snooze(conn: Connection, lead_id: int, until: datetime) -> None:
    conn.execute(update(LEADS).where(LEADS.c.id == lead_id).values(snoozed_until=until))


def open_lead_ids(conn: Connection, owner_id: int, limit: int) -> tuple[list[int], int]:
    """The rep's leads with no first action and no exclusion, soonest deadline first;
    and how many there are in all."""
    where = and_(
        LEADS.c.owner_id == owner_id,
        LEADS.c.first_action_at.is_(None),
        LEADS.c.excluded_at.is_(None),
    )
    return soonest_first(conn, where, limit)


def soonest_first(
    conn: Connection, where: ColumnElement[bool], limit: int
) -> tuple[list[int], int]:
    """The first `limit` lead ids matching `where`, soonest deadline first, and the count."""
    ids = list(
        conn.execute(
            select(LEADS.c.id).where(where).order_by(LEADS.c.due_at, LEADS.c.id).limit(limit)
        ).scalars()
    )
    total = conn.execute(select(func.count()).select_from(LEADS).where(where)).scalar_one()
    return ids, int(total)


def overdue_by_owner(conn: Connection, team_id: int, now: datetime) -> list[tuple[str | None, int]]:
    """Who holds the team's overdue, untouched leads (None: unassigned), most first."""
    owner_email = case((REPS.c.email.is_(None), None), else_=REPS.c.email)
    rows = conn.execute(
        select(owner_email, func.count())
        .select_from(LEADS)
        .outerjoin(REPS, REPS.c.id == LEADS.c.owner_id)
        .where(
            LEADS.c.team_id == team_id,
            LEADS.c.first_action_at.is_(None),
            LEADS.c.excluded_at.is_(None),
            LEADS.c.due_at <= now,
        )
        .group_by(owner_email)
        .order_by(func.count().desc(), owner_email)
    )
    return [(email, int(n)) for email, n in rows]


def card_messages(conn: Connection, lead_id: int) -> list[tuple[str, str]]:
    """(channel, ts) of every card posted for this lead, to update them in place."""
    rows = conn.execute(
        select(OUTBOX.c.external_ref).where(
            OUTBOX.c.key.like(f"card:{lead_id}:%"),
            OUTBOX.c.status == Status.SENT,
            OUTBOX.c.external_ref.is_not(None),
        )
    )
    out = []
    for (ref,) in rows:
        channel, _, ts = str(ref).partition("/")
        if channel and ts:
            out.append((channel, ts))
    return out


def first_delivery(conn: Connection, event_id: str, now: datetime) -> bool:
    """True the first time an event id is seen; a retry or repeated delivery is False."""
    table = cast(Table, SlackEvent.__table__)
    # RETURNING, not rowcount: psycopg reports no count for INSERT ... ON CONFLICT here
    stmt = (
        _insert(conn, table)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )
    return conn.execute(stmt, {"event_id": event_id, "received_at": now}).first() is not None

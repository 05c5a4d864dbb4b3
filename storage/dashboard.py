"""What the dashboard reads lead by lead: the list of a period's leads with their outcome
(filtered, in pages by keyset, or streamed whole) and one lead's timeline.

The counts the dashboard shows come from `storage.reports`. The lead list uses the same
cohort condition (`reports.in_cohort`), the same outcome expression and the same
attributed rep, so that the leads listed for an outcome, a rep, a source or a campaign
are exactly the leads the report counts there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Select, Table, and_, false, or_, select
from sqlalchemy.sql.expression import ColumnElement

from metrics.model import ActionKind, Outcome
from storage import reports
from storage.reports import Cohort, Window
from storage.tables import Action, Lead, Nudge, Rep, Team

LEADS = cast(Table, Lead.__table__)
ACTIONS = cast(Table, Action.__table__)
NUDGES = cast(Table, Nudge.__table__)
REPS = cast(Table, Rep.__table__)
TEAMS = cast(Table, Team.__table__)
L = LEADS.c

BATCH = 5000
NOBODY = ""  # in a filter: the leads charged to nobody, owned by nobody, or of no campaign


@dataclass(frozen=True)
class LeadQuery:
    """Which leads to list: those of the windows' cohorts as of `as_of`, narrowed by each
    filter given (None: any). Emails are compared lower-cased, as reps are stored."""

    windows: Sequence[Window]
    as_of: datetime
    outcome: str | None = None  # on_time, late, excluded, pending or ignored
    charged_to: str | None = None  # the rep the outcome is charged to (email); NOBODY
    owner: str | None = None  # the lead's owner now (email); NOBODY
    source: str | None = None
    campaign: str | None = None  # NOBODY: no campaign


class LeadRecord(NamedTuple):
    """One listed lead. A tuple: a download builds one per lead."""

    id: int
    source: str
    external_id: str
    name: str | None
    company: str | None
    campaign: str | None
    team: str
    owner_email: str | None  # the owner now; None: unassigned
    charged_to: str | None  # the rep the outcome is charged to as of the moment asked about
    handed_off_at: datetime
    due_at: datetime
    outcome: Outcome  # as of the moment asked about
    first_action_at: datetime | None  # None: none at or before the moment asked about
    first_action_kind: str | None  # `contacted:call`, `rejected`...


def _base(as_of: datetime) -> tuple[Select[Any], Any, Any]:
    owner = REPS.alias("owner")
    charged = REPS.alias("charged")
    stmt = (
        select(
            L.id,
            L.source,
            L.external_id,
            L.name,
            L.company,
            L.campaign,
            TEAMS.c.name,
            owner.c.email,
            charged.c.email,
            L.handed_off_at,
            L.due_at,
            reports.outcome_expression(as_of),
            L.first_action_at,
            reports.first_action_expression(as_of),
        )
        .join_from(LEADS, TEAMS, L.team_id == TEAMS.c.id)
        .outerjoin(owner, L.owner_id == owner.c.id)
        .outerjoin(charged, reports.attributed_rep_expression(as_of) == charged.c.id)
    )
    return stmt, owner, charged


def _equal_or_nobody(column: Any, value: str, *, lower: bool = False) -> ColumnElement[bool]:
    if value == NOBODY:
        return cast(ColumnElement[bool], column.is_(None))
    return cast(ColumnElement[bool], column == (value.lower() if lower else value))


def _select(query: LeadQuery) -> Select[Any]:
    stmt, owner, charged = _base(query.as_of)
    cohorts = [
        reports.in_cohort(Cohort(w.start, w.end, query.as_of, w.team_id)) for w in query.windows
    ]
    conditions: list[ColumnElement[bool]] = [or_(*cohorts) if cohorts else false()]
    if query.outcome is not None:
        conditions.append(reports.outcome_expression(query.as_of) == query.outcome)
    if query.charged_to is not None:
        column = (
            reports.attributed_rep_expression(query.as_of)
            if query.charged_to == NOBODY
            else charged.c.email
        )
        conditions.append(_equal_or_nobody(column, query.charged_to, lower=True))
    if query.owner is not None:
        column = L.owner_id if query.owner == NOBODY else owner.c.email
        conditions.append(_equal_or_nobody(column, query.owner, lower=True))
    if query.source is not None:
        conditions.append(L.source == query.source)
    if query.campaign is not None:
        conditions.append(_equal_or_nobody(L.campaign, query.campaign))
    return stmt.where(*conditions).order_by(L.handed_off_at.desc(), L.id.desc())


def _record(row: Any, as_of: datetime) -> LeadRecord:
    values = list(row)
    values[11] = Outcome(values[11])
    first_at = values[12]
    values[12] = first_at if first_at is not None and first_at <= as_of else None
    return LeadRecord(*values)


def lead_page(
    conn: Connection,
    query: LeadQuery,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> tuple[list[LeadRecord], bool]:
    """Up to `limit` leads, newest handoff first (then highest id), after the lead
    `after` (its handoff time and id) in that order; and whether more follow."""
    stmt = _select(query)
    if after is not None:
        at, id_ = after
        stmt = stmt.where(
            or_(L.handed_off_at < at, and_(L.handed_off_at == at, L.id < id_)),
        )
    rows = conn.execute(stmt.limit(limit + 1)).all()
    return [_record(r, query.as_of) for r in rows[:limit]], len(rows) > limit


def all_leads(conn: Connection, query: LeadQuery) -> Iterator[LeadRecord]:
    """Every lead of the query in the list's order, streamed: a server-side cursor on
    PostgreSQL, BATCH rows fetched at a time, so memory stays flat. The caller keeps
    `conn` open while it reads."""
    rows = conn.execute(
        _select(query), execution_options={"stream_results": True, "yield_per": BATCH}
    )
    for row in rows:
        yield _record(row, query.as_of)


def lead(conn: Connection, lead_id: int, as_of: datetime) -> LeadRecord | None:
    stmt, _, _ = _base(as_of)
    row = conn.execute(stmt.where(L.id == lead_id)).first()
    return None if row is None else _record(row, as_of)


class EventKind(StrEnum):
    HANDOFF = "handoff"
    OWNER = "owner"  # a reassignment: `new_owner_email` holds it from then
    NUDGE = "nudge"
    ACTION = "action"


class Event(NamedTuple):
    """One thing that happened to a lead. Which fields are set depends on `kind`: a
    handoff names its first owner (`new_owner_email`); an owner change and an action come
    from the actions table (`action_kind`, `channel`, `reason`, `excludes`, `actor_email`,
    `new_owner_email`, `until`, and `via`: slack, teams, csv, webhook, cli, salesforce,
    hubspot, sweep... as stored); a nudge names its kind, cycle and the rep nudged."""

    at: datetime
    kind: EventKind
    id: int  # the action's or the nudge's row id; 0 for the handoff
    action_kind: str | None = None
    channel: str | None = None
    reason: str | None = None
    excludes: bool = False
    actor_email: str | None = None
    new_owner_email: str | None = None  # a reassignment's new owner; the handoff's owner
    via: str | None = None
    until: datetime | None = None
    nudge_kind: str | None = None
    nudge_cycle: int | None = None
    nudged_email: str | None = None


def events(conn: Connection, lead_id: int, as_of: datetime) -> list[Event]:
    """The lead's handoff, actions and nudges at or before `as_of`, in time order (on equal
    times: the handoff, then actions, then nudges, each in the order recorded)."""
    initial = REPS.alias("initial")
    found: list[Event] = []
    handoff = conn.execute(
        select(L.handed_off_at, initial.c.email)
        .select_from(LEADS)
        .outerjoin(initial, L.initial_owner_id == initial.c.id)
        .where(L.id == lead_id, L.handed_off_at <= as_of)
    ).first()
    if handoff is not None:
        found.append(Event(handoff[0], EventKind.HANDOFF, 0, new_owner_email=handoff[1]))
    actor = REPS.alias("actor")
    new_owner = REPS.alias("new_owner")
    a = ACTIONS.c
    rows = conn.execute(
        select(
            a.at,
            a.id,
            a.kind,
            a.channel,
            a.reason,
            a.excludes,
            actor.c.email,
            new_owner.c.email,
            a.via,
            a.until,
        )
        .select_from(ACTIONS)
        .outerjoin(actor, a.actor_id == actor.c.id)
        .outerjoin(new_owner, a.new_owner_id == new_owner.c.id)
        .where(a.lead_id == lead_id, a.at <= as_of)
    )
    for at, id_, kind, channel, reason, excludes, actor_email, owner_email, via, until in rows:
        found.append(
            Event(
                at,
                EventKind.OWNER if kind == ActionKind.REASSIGNED.value else EventKind.ACTION,
                id_,
                action_kind=kind,
                channel=channel,
                reason=reason,
                excludes=bool(excludes),
                actor_email=actor_email,
                new_owner_email=owner_email,
                via=via,
                until=until,
            )
        )
    nudged = REPS.alias("nudged")
    n = NUDGES.c
    for at, id_, kind, cycle, email in conn.execute(
        select(n.created_at, n.id, n.kind, n.cycle, nudged.c.email)
        .select_from(NUDGES)
        .outerjoin(nudged, n.rep_id == nudged.c.id)
        .where(n.lead_id == lead_id, n.created_at <= as_of)
    ):
        found.append(
            Event(at, EventKind.NUDGE, id_, nudge_kind=kind, nudge_cycle=cycle, nudged_email=email)
        )
    rank = {EventKind.HANDOFF: 0, EventKind.OWNER: 1, EventKind.ACTION: 1, EventKind.NUDGE: 2}
    return sorted(found, key=lambda e: (e.at, rank[e.kind], e.id))

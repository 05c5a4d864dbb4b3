"""Reports aggregate in SQL: one row per group crosses into Python, never one per lead.

`outcome` below is the spec's table written as one CASE; `tests/integration/
test_report_matches_pure.py` holds it equal to `metrics.outcomes` on random data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.expression import ColumnElement

from metrics.rates import Counts
from storage.tables import Lead, LeadOwner, Rep, Team
from storage.types import UtcTimestamp, least, seconds_between

Grouping = Literal["total", "rep", "source"]
L = Lead.__table__.c
O = LeadOwner.__table__.c  # noqa: E741 (O for owners, beside L for leads)


@dataclass(frozen=True)
class Cohort:
    """Leads handed off in [start, end), as of `as_of`, optionally one team."""

    start: datetime
    end: datetime
    as_of: datetime
    team_id: int | None = None


def _outcome(as_of: ColumnElement[Any]) -> ColumnElement[str]:
    return case(
        (L.excluded_at <= as_of, literal("excluded")),
        (
            L.first_action_at <= as_of,
            case((L.first_action_at <= L.due_at, "on_time"), else_="late"),
        ),
        (L.due_at > as_of, "pending"),
        else_="ignored",
    )


def _owner_at(moment: ColumnElement[Any]) -> ColumnElement[Any]:
    """The owner at `moment`. Most leads are never reassigned; for them the owner is the
    initial one and the history table is not read."""
    owner_then = (
        select(O.rep_id)
        .where(O.lead_id == L.id, O.since <= moment)
        .order_by(O.since.desc(), O.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return case(
        (or_(L.reassigned_at.is_(None), L.reassigned_at > moment), L.initial_owner_id),
        else_=owner_then,
    )


def _attributed_rep(as_of: ColumnElement[Any]) -> ColumnElement[Any]:
    """The owner at min(first, due_at, T)."""
    due_or_now = least(L.due_at, as_of)
    moment = case(
        (and_(L.first_action_at <= as_of, L.first_action_at < due_or_now), L.first_action_at),
        else_=due_or_now,
    )
    return _owner_at(moment)


def outcome_expression(as_of: datetime) -> ColumnElement[str]:
    return _outcome(literal(as_of, UtcTimestamp()))


def first_action_expression(as_of: datetime) -> ColumnElement[Any]:
    """`contacted:call`, `rejected`... for the first qualifying action at or before T."""
    as_of_ = literal(as_of, UtcTimestamp())
    kind = case(
        (L.first_action_channel.is_not(None), L.first_action_kind + ":" + L.first_action_channel),
        else_=L.first_action_kind,
    )
    return case((L.first_action_at <= as_of_, kind))


def owner_expression(as_of: datetime) -> ColumnElement[Any]:
    return _owner_at(literal(as_of, UtcTimestamp()))


def attributed_rep_expression(as_of: datetime) -> ColumnElement[Any]:
    return _attributed_rep(literal(as_of, UtcTimestamp()))


def _per_lead(cohort: Cohort, grouping: Grouping) -> Select[Any]:
    as_of = literal(cohort.as_of, UtcTimestamp())
    outcome = _outcome(as_of)
    key: ColumnElement[Any]
    if grouping == "rep":
        key = _attributed_rep(as_of)
    elif grouping == "source":
        key = L.source
    else:
        key = literal(None)
    actioned = outcome.in_(["on_time", "late"])
    conditions = [
        L.handed_off_at >= cohort.start,
        L.handed_off_at < cohort.end,
        L.handed_off_at <= as_of,
    ]
    if cohort.team_id is not None:
        conditions.append(L.team_id == cohort.team_id)
    return select(
        key.label("key"),
        outcome.label("outcome"),
        case((and_(actioned, L.first_action_kind == "rejected"), 1), else_=0).label("rejected"),
        case((actioned, seconds_between(L.first_action_at, L.handed_off_at))).label("secs"),
    ).where(*conditions)


def counts(conn: Connection, cohort: Cohort, grouping: Grouping = "total") -> dict[Any, Counts]:
    """Counts per group key (rep id, source, or None for the total)."""
    per_lead = _per_lead(cohort, grouping).subquery("per_lead")
    c = per_lead.c

    def n(outcome: str) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((c.outcome == outcome, 1), else_=0)), 0)

    tallies = select(
        c.key,
        func.count().label("handed_off"),
        n("excluded"),
        n("pending"),
        n("ignored"),
        n("on_time"),
        n("late"),
        func.coalesce(func.sum(c.rejected), 0),
    ).group_by(c.key)
    # The median over actioned leads, with window functions both databases have:
    # the middle row, or the mean of the two middle rows.
    ranked = (
        select(
            c.key,
            c.secs,
            func.row_number().over(partition_by=c.key, order_by=c.secs).label("rn"),
            func.count().over(partition_by=c.key).label("n"),
        )
        .where(c.secs.is_not(None))
        .subquery("ranked")
    )
    r = ranked.c
    medians = (
        select(r.key, func.avg(r.secs))
        .where(or_(r.rn == (r.n + 1) // 2, r.rn == (r.n + 2) // 2))
        .group_by(r.key)
    )
    median_of = {key: float(m) for key, m in conn.execute(medians)}
    result = {}
    for key, handed, excluded, pending, ignored, on_time, late, rejected in conn.execute(tallies):
        result[key] = Counts(
            handed_off=int(handed),
            excluded=int(excluded),
            pending=int(pending),
            ignored=int(ignored),
            on_time=int(on_time),
            late=int(late),
            rejected=int(rejected),
            median_first_action_seconds=median_of.get(key),
        )
    return result


def total(conn: Connection, cohort: Cohort) -> Counts:
    return counts(conn, cohort).get(None, Counts())


def by_rep(conn: Connection, cohort: Cohort) -> list[tuple[str | None, Counts]]:
    """Counts per attributed rep, by email; unassigned leads under None, listed last."""
    grouped = counts(conn, cohort, "rep")
    ids = [k for k in grouped if k is not None]
    reps = Rep.__table__.c
    found: Iterable[Any] = (
        conn.execute(select(reps.id, reps.email).where(reps.id.in_(ids))) if ids else []
    )
    emails = {id_: email for id_, email in found}  # noqa: C416 (a Result is not a mapping)
    rows = [(emails[k], v) for k, v in grouped.items() if k is not None]
    rows.sort(key=lambda kv: kv[0])
    if None in grouped:
        rows.append((None, grouped[None]))
    return [(email, v) for email, v in rows]


def by_source(conn: Connection, cohort: Cohort) -> list[tuple[str, Counts]]:
    return sorted(counts(conn, cohort, "source").items())


def team_id(conn: Connection, name: str) -> int | None:
    return conn.execute(select(Team.__table__.c.id).where(Team.__table__.c.name == name)).scalar()

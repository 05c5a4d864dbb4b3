"""Reports aggregate in SQL: one row per group crosses into Python, never one per lead.

`outcome` below is the spec's table written as one CASE; `tests/integration/
test_report_matches_pure.py` holds it equal to `metrics.outcomes` on random data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.expression import ColumnElement

from metrics.rates import Counts
from storage.tables import Lead, LeadOwner, Rep, Team
from storage.types import UtcTimestamp, least, seconds_between

L = Lead.__table__.c
O = LeadOwner.__table__.c  # noqa: E741 (O for owners, beside L for leads)


@dataclass(frozen=True)
class Cohort:
    """Leads handed off in [start, end), as of `as_of`, optionally one team."""

    start: datetime
    end: datetime
    as_of: datetime
    team_id: int | None = None


def _outcome(as_of: ColumnElement[Any], leaf: Callable[[str], Any] = literal) -> ColumnElement[Any]:
    """The spec's table as one CASE; `leaf` gives what each outcome's branch yields (its
    name by default)."""
    return case(
        (L.excluded_at <= as_of, leaf("excluded")),
        (
            L.first_action_at <= as_of,
            case((L.first_action_at <= L.due_at, leaf("on_time")), else_=leaf("late")),
        ),
        (L.due_at > as_of, leaf("pending")),
        else_=leaf("ignored"),
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


def _per_lead(cohort: Cohort, *, attributed: bool = True) -> Select[Any]:
    """One row per lead of the cohort: who it is charged to, its source, its outcome.
    Without `attributed`, the rep is left out: finding the owner at the moment that counts
    reads the owner history, which totals do not need."""
    as_of = literal(cohort.as_of, UtcTimestamp())
    outcome = _outcome(as_of)
    actioned = outcome.in_(["on_time", "late"])
    conditions = _cohort_conditions(cohort, as_of)
    rep = _attributed_rep(as_of) if attributed else literal(None)
    return select(
        rep.label("rep"),
        L.source.label("source"),
        outcome.label("outcome"),
        case((and_(actioned, L.first_action_kind == "rejected"), 1), else_=0).label("rejected"),
        case((actioned, seconds_between(L.first_action_at, L.handed_off_at))).label("secs"),
    ).where(*conditions)


@dataclass(frozen=True)
class Breakdown:
    """A cohort's counts in total, per attributed rep (id; None: unassigned) and per source."""

    totals: Counts
    by_rep: dict[int | None, Counts]
    by_source: dict[str, Counts]


_FIELDS = ("handed_off", "excluded", "pending", "ignored", "on_time", "late", "rejected")
TOTAL, REP, SOURCE = 0, 1, 2


def _tally_columns(c: Any) -> list[ColumnElement[Any]]:
    def n(outcome: str) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((c.outcome == outcome, 1), else_=0)), 0)

    return [
        func.count(),
        n("excluded"),
        n("pending"),
        n("ignored"),
        n("on_time"),
        n("late"),
        func.coalesce(func.sum(c.rejected), 0),
    ]


def _mid(rn: Any, n: Any) -> ColumnElement[bool]:
    """The middle row of n, or either of the two middle rows."""
    return or_(rn == (n + 1) // 2, rn == (n + 2) // 2)


def _breakdown_postgresql(conn: Connection, cohort: Cohort) -> Breakdown:
    """One scan: GROUPING SETS give the total, per rep and per source together, and
    percentile_cont the median (interpolated: the mean of the two middle values)."""
    c = _per_lead(cohort).subquery("per_lead").c
    grouping = func.grouping(c.rep, c.source)  # 3: total, 1: per rep, 2: per source
    stmt = select(
        grouping,
        c.rep,
        c.source,
        *_tally_columns(c),
        func.percentile_cont(0.5).within_group(c.secs),
    ).group_by(func.grouping_sets(literal_column("()"), c.rep, c.source))
    sets: dict[int, dict[Any, Counts]] = {TOTAL: {}, REP: {}, SOURCE: {}}
    which = {3: TOTAL, 1: REP, 2: SOURCE}
    for g, rep, source, *numbers, median in conn.execute(stmt):
        kind = which[g]
        key = None if kind == TOTAL else rep if kind == REP else source
        sets[kind][key] = _counts(numbers, None if median is None else float(median))
    return Breakdown(sets[TOTAL].get(None, Counts()), sets[REP], sets[SOURCE])


def _breakdown_sqlite(conn: Connection, cohort: Cohort) -> Breakdown:
    """Two scans: counts per (rep, source), added up here (they are additive); then the
    three medians from one materialised, ranked set of actioned leads."""
    c = _per_lead(cohort).subquery("per_lead").c
    stmt = select(c.rep, c.source, *_tally_columns(c)).group_by(c.rep, c.source)
    total: list[int] = [0] * len(_FIELDS)
    reps: dict[Any, list[int]] = {}
    sources: dict[Any, list[int]] = {}
    for rep, source, *numbers in conn.execute(stmt):
        for bucket in (
            total,
            reps.setdefault(rep, [0] * len(_FIELDS)),
            sources.setdefault(source, [0] * len(_FIELDS)),
        ):
            for i, value in enumerate(numbers):
                bucket[i] += int(value)
    medians = _medians_sqlite(conn, cohort)
    return Breakdown(
        _counts(total, medians[TOTAL].get(None)) if total[0] else Counts(),
        {k: _counts(v, medians[REP].get(k)) for k, v in reps.items()},
        {k: _counts(v, medians[SOURCE].get(k)) for k, v in sources.items()},
    )


def _medians_sqlite(conn: Connection, cohort: Cohort) -> dict[int, dict[Any, float]]:
    per = _per_lead(cohort).cte("actioned").prefix_with("MATERIALIZED")
    a = per.c
    ranked = (
        select(
            a.rep,
            a.source,
            a.secs,
            func.row_number().over(order_by=a.secs).label("rn_t"),
            func.count().over().label("n_t"),
            func.row_number().over(partition_by=a.rep, order_by=a.secs).label("rn_r"),
            func.count().over(partition_by=a.rep).label("n_r"),
            func.row_number().over(partition_by=a.source, order_by=a.secs).label("rn_s"),
            func.count().over(partition_by=a.source).label("n_s"),
        )
        .where(a.secs.is_not(None))
        .cte("ranked")
        .prefix_with("MATERIALIZED")
    )
    r = ranked.c
    stmt = union_all(
        select(literal(TOTAL), literal(None), func.avg(r.secs)).where(_mid(r.rn_t, r.n_t)),
        select(literal(REP), r.rep, func.avg(r.secs)).where(_mid(r.rn_r, r.n_r)).group_by(r.rep),
        select(literal(SOURCE), r.source, func.avg(r.secs))
        .where(_mid(r.rn_s, r.n_s))
        .group_by(r.source),
    )
    out: dict[int, dict[Any, float]] = {TOTAL: {}, REP: {}, SOURCE: {}}
    for kind, key, median in conn.execute(stmt):
        if median is not None:
            out[kind][key] = float(median)
    return out


def _counts(numbers: list[Any], median: float | None) -> Counts:
    values = dict(zip(_FIELDS, (int(v) for v in numbers), strict=True))
    return Counts(**values, median_first_action_seconds=median)


def breakdown(conn: Connection, cohort: Cohort) -> Breakdown:
    if conn.dialect.name == "postgresql":
        return _breakdown_postgresql(conn, cohort)
    return _breakdown_sqlite(conn, cohort)


ACTIONED = ("on_time", "late")


def _cohort_conditions(cohort: Cohort, as_of: ColumnElement[Any]) -> list[ColumnElement[bool]]:
    conditions = [
        L.handed_off_at >= cohort.start,
        L.handed_off_at < cohort.end,
        L.handed_off_at <= as_of,
    ]
    if cohort.team_id is not None:
        conditions.append(L.team_id == cohort.team_id)
    return conditions


def _only(outcomes: tuple[str, ...], then: Any = None, other: Any = None) -> Callable[[str], Any]:
    """A `leaf` for `_outcome`: `then` (1 by default) in the branches of `outcomes`,
    `other` (0 by default) in every other branch."""
    yes = literal(1) if then is None else then
    no = literal(0) if other is None else other
    return lambda name: yes if name in outcomes else no


def totals_query_postgresql(cohort: Cohort) -> Select[Any]:
    """One aggregate straight over the leads, which PostgreSQL splits across parallel
    workers as it does the floor's: each count is the outcome CASE with 1 in its own
    branch and 0 in the others (no row builds or compares an outcome's name), and the
    median is `ignorerate_median` (migration 0004), not `percentile_cont`, which would
    keep the whole scan in one process."""
    as_of = literal(cohort.as_of, UtcTimestamp())
    rejected = case((L.first_action_kind == "rejected", 1), else_=0)
    secs = seconds_between(L.first_action_at, L.handed_off_at)
    actioned = _outcome(as_of, _only(ACTIONED)) == 1
    return select(
        func.count(),
        *(func.coalesce(func.sum(_outcome(as_of, _only((name,)))), 0) for name in _FIELDS[1:6]),
        func.coalesce(func.sum(_outcome(as_of, _only(ACTIONED, rejected))), 0),
        func.ignorerate_median(secs, type_=Float).filter(actioned),
    ).where(*_cohort_conditions(cohort, as_of))


def _total_postgresql(conn: Connection, cohort: Cohort) -> Counts:
    *numbers, median = conn.execute(totals_query_postgresql(cohort)).one()
    return _counts(list(numbers), None if median is None else float(median))


def _total_sqlite(conn: Connection, cohort: Cohort) -> Counts:
    """One statement, one pass over the leads: each lead's outcome (as a number), whether
    its first action is a rejection and its time to it go into a materialised CTE; the
    counts and the median (the middle value, or the mean of the two middle values, by an
    ordered probe: SQLite has no percentile function) are read from that."""
    as_of = literal(cohort.as_of, UtcTimestamp())
    code = {name: i for i, name in enumerate(_FIELDS[1:6])}
    per = (
        select(
            _outcome(as_of, lambda name: literal(code[name])).label("outcome"),
            case((L.first_action_kind == "rejected", 1), else_=0).label("rejected"),
            seconds_between(L.first_action_at, L.handed_off_at).label("secs"),
        )
        .where(*_cohort_conditions(cohort, as_of))
        .cte("per_lead")
        .prefix_with("MATERIALIZED")
    )
    c = per.c
    actioned = c.outcome.in_([code[name] for name in ACTIONED])
    n = select(func.count()).select_from(per).where(actioned).scalar_subquery()
    middle = (
        select(c.secs)
        .where(actioned)
        .order_by(c.secs)
        .limit(2 - n % 2)
        .offset((n - 1) // 2)
        .subquery("middle")
    )
    stmt = select(
        func.count(),
        *(
            func.coalesce(func.sum(case((c.outcome == code[name], 1), else_=0)), 0)
            for name in _FIELDS[1:6]
        ),
        func.coalesce(func.sum(case((and_(actioned, c.rejected == 1), 1), else_=0)), 0),
        select(func.avg(middle.c.secs)).scalar_subquery(),
    ).select_from(per)
    *numbers, median = conn.execute(stmt).one()
    return _counts(list(numbers), None if median is None else float(median))


def total(conn: Connection, cohort: Cohort) -> Counts:
    """The cohort's counts alone, for answers that show no breakdown: one statement, with
    no rep attribution (the owner history is not read)."""
    if conn.dialect.name == "postgresql":
        return _total_postgresql(conn, cohort)
    return _total_sqlite(conn, cohort)


def rep_emails(conn: Connection, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    reps = Rep.__table__.c
    found = conn.execute(select(reps.id, reps.email).where(reps.id.in_(wanted)))
    return {id_: email for id_, email in found}  # noqa: C416 (a Result is not a mapping)


def named(
    conn: Connection, result: Breakdown
) -> tuple[list[tuple[str | None, Counts]], list[tuple[str, Counts]]]:
    """Per rep by email (sorted; unassigned last) and per source (sorted)."""
    emails = rep_emails(conn, result.by_rep)
    reps: list[tuple[str | None, Counts]] = sorted(
        ((emails[k], v) for k, v in result.by_rep.items() if k is not None),
        key=lambda kv: str(kv[0]),
    )
    if None in result.by_rep:
        reps.append((None, result.by_rep[None]))
    return reps, sorted(result.by_source.items())


def by_rep(conn: Connection, cohort: Cohort) -> list[tuple[str | None, Counts]]:
    return named(conn, breakdown(conn, cohort))[0]


def by_source(conn: Connection, cohort: Cohort) -> list[tuple[str, Counts]]:
    return named(conn, breakdown(conn, cohort))[1]


def team_id(conn: Connection, name: str) -> int | None:
    return conn.execute(select(Team.__table__.c.id).where(Team.__table__.c.name == name)).scalar()


def team_name(conn: Connection, team_id: int) -> str | None:
    """The name of the team with this row id (a signed chart link names a team by id)."""
    return conn.execute(
        select(Team.__table__.c.name).where(Team.__table__.c.id == team_id)
    ).scalar()

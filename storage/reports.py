"""Reports aggregate in SQL: one row per group crosses into Python, never one per lead.

`outcome` below is the spec's table written as one CASE; `tests/integration/
test_report_matches_pure.py` holds it equal to `metrics.outcomes` on random data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Float,
    Select,
    Table,
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
from storage.action_rules import qualifying
from storage.tables import Action, Lead, LeadOwner, Rep, Team
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


def _per_lead(cohort: Cohort, *, attributed: bool = True, campaign: bool = False) -> Select[Any]:
    """One row per lead of the cohort: who it is charged to, its source, its outcome.
    Without `attributed`, the rep is left out: finding the owner at the moment that counts
    reads the owner history, which totals do not need. With `campaign`, the lead's
    campaign too (None: none)."""
    as_of = literal(cohort.as_of, UtcTimestamp())
    outcome = _outcome(as_of)
    actioned = outcome.in_(["on_time", "late"])
    conditions = _cohort_conditions(cohort, as_of)
    rep = _attributed_rep(as_of) if attributed else literal(None)
    extra = [L.campaign.label("campaign")] if campaign else []
    return select(
        rep.label("rep"),
        L.source.label("source"),
        *extra,
        outcome.label("outcome"),
        case((and_(actioned, L.first_action_kind == "rejected"), 1), else_=0).label("rejected"),
        case((actioned, seconds_between(L.first_action_at, L.handed_off_at))).label("secs"),
    ).where(*conditions)


@dataclass(frozen=True)
class Breakdown:
    """A cohort's counts in total, per attributed rep (id; None: unassigned), per source
    and, when asked for, per campaign (None: no campaign)."""

    totals: Counts
    by_rep: dict[int | None, Counts]
    by_source: dict[str, Counts]
    by_campaign: dict[str | None, Counts] = field(default_factory=dict)


_FIELDS = ("handed_off", "excluded", "pending", "ignored", "on_time", "late", "rejected")
TOTAL = 0  # the index of the total among a grouping's sets; key i is at i + 1

# What `_grouped` reads: a statement with one row per lead (of a cohort, or of several,
# tagged), its `outcome`, `rejected` and `secs` columns, and the grouping keys.
PerLead = Select[Any] | CompoundSelect[Any]


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


Grouped = tuple[Counts, dict[str, dict[Any, Counts]]]


def _grouped_postgresql(conn: Connection, rows: PerLead, keys: Sequence[str]) -> Grouped:
    """One scan: GROUPING SETS give the total and each key's groups together, and
    percentile_cont the median (interpolated: the mean of the two middle values)."""
    c = rows.subquery("per_lead").c
    cols = [c[k] for k in keys]
    full = (1 << len(keys)) - 1  # grouping(): a bit set for each key rolled up
    which = {full ^ (1 << (len(keys) - 1 - i)): k for i, k in enumerate(keys)}
    stmt = select(
        func.grouping(*cols),
        *cols,
        *_tally_columns(c),
        func.percentile_cont(0.5).within_group(c.secs),
    ).group_by(func.grouping_sets(literal_column("()"), *cols))
    total = Counts()
    per: dict[str, dict[Any, Counts]] = {k: {} for k in keys}
    for g, *row in conn.execute(stmt):
        values, numbers, median = row[: len(keys)], row[len(keys) : -1], row[-1]
        counts = _counts(numbers, None if median is None else float(median))
        if g == full:
            total = counts
        else:
            key = which[g]
            per[key][values[keys.index(key)]] = counts
    return total, per


def _grouped_sqlite(conn: Connection, rows: PerLead, keys: Sequence[str]) -> Grouped:
    """Two scans: counts per combination of the keys, added up here (they are additive);
    then the medians from one materialised, ranked set of actioned leads."""
    c = rows.subquery("per_lead").c
    cols = [c[k] for k in keys]
    stmt = select(*cols, *_tally_columns(c)).group_by(*cols)
    total: list[int] = [0] * len(_FIELDS)
    per: dict[str, dict[Any, list[int]]] = {k: {} for k in keys}
    for row in conn.execute(stmt):
        values, numbers = row[: len(keys)], row[len(keys) :]
        buckets = [total] + [
            per[k].setdefault(v, [0] * len(_FIELDS)) for k, v in zip(keys, values, strict=True)
        ]
        for bucket in buckets:
            for i, value in enumerate(numbers):
                bucket[i] += int(value)
    medians = _medians_sqlite(conn, rows, keys)
    return (
        _counts(total, medians[TOTAL].get(None)) if total[0] else Counts(),
        {
            k: {v: _counts(n, medians[i].get(v)) for v, n in per[k].items()}
            for i, k in enumerate(keys, start=1)
        },
    )


def _medians_sqlite(
    conn: Connection, rows: PerLead, keys: Sequence[str]
) -> dict[int, dict[Any, float]]:
    per = rows.cte("actioned").prefix_with("MATERIALIZED")
    a = per.c
    ranks: list[ColumnElement[Any]] = [
        func.row_number().over(order_by=a.secs).label("rn_0"),
        func.count().over().label("n_0"),
    ]
    for i, k in enumerate(keys, start=1):
        ranks += [
            func.row_number().over(partition_by=a[k], order_by=a.secs).label(f"rn_{i}"),
            func.count().over(partition_by=a[k]).label(f"n_{i}"),
        ]
    ranked = (
        select(*(a[k] for k in keys), a.secs, *ranks)
        .where(a.secs.is_not(None))
        .cte("ranked")
        .prefix_with("MATERIALIZED")
    )
    r = ranked.c
    stmt = union_all(
        select(literal(TOTAL), literal(None), func.avg(r.secs)).where(_mid(r.rn_0, r.n_0)),
        *(
            select(literal(i), r[k], func.avg(r.secs))
            .where(_mid(r[f"rn_{i}"], r[f"n_{i}"]))
            .group_by(r[k])
            for i, k in enumerate(keys, start=1)
        ),
    )
    out: dict[int, dict[Any, float]] = {i: {} for i in range(len(keys) + 1)}
    for kind, key, median in conn.execute(stmt):
        if median is not None:
            out[kind][key] = float(median)
    return out


def _grouped(conn: Connection, rows: PerLead, keys: Sequence[str]) -> Grouped:
    """The counts of `rows` in total and by each key: the one tally every grouping uses,
    so that the groups of any key add up to the same total."""
    if conn.dialect.name == "postgresql":
        return _grouped_postgresql(conn, rows, keys)
    return _grouped_sqlite(conn, rows, keys)


def _counts(numbers: list[Any], median: float | None) -> Counts:
    values = dict(zip(_FIELDS, (int(v) for v in numbers), strict=True))
    return Counts(**values, median_first_action_seconds=median)


def breakdown(conn: Connection, cohort: Cohort, *, campaign: bool = False) -> Breakdown:
    """The cohort's counts in total, per attributed rep and per source (and, with
    `campaign`, per campaign), from one tally of one row per lead."""
    keys = ("rep", "source", "campaign") if campaign else ("rep", "source")
    totals, per = _grouped(conn, _per_lead(cohort, campaign=campaign), keys)
    return Breakdown(totals, per["rep"], per["source"], per.get("campaign", {}))


@dataclass(frozen=True)
class Window:
    """One team's leads handed off in [start, end): a cohort among several read at once."""

    team_id: int
    start: datetime
    end: datetime


def totals_by_window(conn: Connection, windows: Sequence[Window], as_of: datetime) -> list[Counts]:
    """The totals of each window's cohort as of `as_of`, in the order given: each is
    `total(...)` of that cohort, `/ignorerate`'s totals (equal to `breakdown(...).totals`).
    Windows may overlap (a lead counts in each of its windows).

    On PostgreSQL all of them are one statement: `total`'s query of each window, tagged
    with the window's place, in a UNION ALL; each branch reads its own range of the leads
    (an index-only scan, migration 0008) and aggregates it, with one round trip for all.
    SQLite, in the process, runs `total` for each window. Before, the windows' per-lead
    rows were tallied by `breakdown`'s grouping, which sorted every row of every window
    for the medians: the dashboard's overview (42 windows) took 2.4x the 42 totals on
    SQLite at a million leads (docs/benchmarks.md, the dashboard)."""
    if not windows:
        return []
    cohorts = [Cohort(w.start, w.end, as_of, w.team_id) for w in windows]
    if conn.dialect.name != "postgresql":
        return [_total_sqlite(conn, cohort) for cohort in cohorts]
    branches = [
        totals_query_postgresql(cohort).add_columns(literal_column(str(i)).label("window"))
        for i, cohort in enumerate(cohorts)
    ]
    statement = branches[0] if len(branches) == 1 else union_all(*branches)
    found: dict[int, Counts] = {}
    for *numbers, median, window in conn.execute(statement):
        found[int(window)] = _counts(list(numbers), None if median is None else float(median))
    return [found[i] for i in range(len(windows))]


def rejection_reasons(conn: Connection, cohort: Cohort) -> list[tuple[str | None, int]]:
    """The reason of each rejected lead of the cohort (the leads `Counts.rejected`
    counts: actioned, their first qualifying action a rejection), by reason: the reason of
    that first action (on equal times, the one recorded first, as the summary columns
    chose it). Most leads first, then by reason; the counts add up to `rejected`."""
    actions = cast(Table, Action.__table__)
    first_reason = (
        select(actions.c.reason)
        .where(
            actions.c.lead_id == L.id,
            actions.c.at == L.first_action_at,
            qualifying(actions),
        )
        .order_by(actions.c.id)
        .limit(1)
        .scalar_subquery()
    )
    per = _per_lead(cohort, attributed=False)
    rejected = per.selected_columns.rejected
    c = per.add_columns(case((rejected == 1, first_reason)).label("reason")).subquery().c
    stmt = select(c.reason, func.count()).where(c.rejected == 1).group_by(c.reason)
    found = [(reason, int(n)) for reason, n in conn.execute(stmt)]
    return sorted(found, key=lambda rn: (-rn[1], rn[0] is None, rn[0] or ""))


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


def in_cohort(cohort: Cohort) -> ColumnElement[bool]:
    """Whether a lead belongs to the cohort: the condition every count above uses."""
    return and_(*_cohort_conditions(cohort, literal(cohort.as_of, UtcTimestamp())))


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

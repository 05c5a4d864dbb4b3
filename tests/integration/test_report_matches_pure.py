"""The SQL report and the pure rules agree, on random data, on SQLite and PostgreSQL.

Leads and actions are written through the same repository the product uses, with the
actions in a random order and in several batches, so the per-lead summary columns are
exercised the way real imports and clicks would exercise them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine

from metrics.model import Action, ActionKind, ContactChannel, Lead, NewAction, OwnerSpan
from metrics.outcomes import attributed_rep
from metrics.rates import Counts, tally
from storage import reports
from storage import repository as repo
from tests.conftest import reset

BASE = datetime(2026, 10, 1, tzinfo=UTC)
REPS = ("a@example.com", "b@example.com", "c@example.com", None)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class GenAction:
    lead: int
    offset_min: int
    kind: ActionKind
    excludes: bool
    channel: ContactChannel | None
    new_owner: str | None


@dataclass(frozen=True)
class GenLead:
    handed_min: int
    sla_min: int
    source: str
    owner: str | None


# Times sit on a coarse grid (hours) so that the boundaries the rules care about (an
# action exactly at the deadline, a reassignment at the attribution moment, "as of" at a
# deadline or a handoff) happen often; on a fine grid they almost never would.
GRID = 60

action_st = st.builds(
    GenAction,
    lead=st.just(0),
    offset_min=st.integers(0, 16).map(lambda n: n * GRID),
    kind=st.sampled_from(list(ActionKind)),
    excludes=st.booleans(),
    channel=st.sampled_from(list(ContactChannel)),
    new_owner=st.sampled_from(REPS[:3]),
)
lead_st = st.builds(
    GenLead,
    handed_min=st.integers(0, 48).map(lambda n: n * GRID),
    sla_min=st.integers(1, 12).map(lambda n: n * GRID),
    source=st.sampled_from(["web", "event", "ads"]),
    owner=st.sampled_from(REPS),
)
Scenario = tuple[list[GenLead], list[GenAction], int, int, int, int]

# On PostgreSQL the totals' aggregate runs in parallel workers on a large cohort (its
# median is `ignorerate_median`, migration 0004). Made cheap, parallel work is planned on
# a few thousand rows too.
PARALLEL = (
    "SET LOCAL parallel_setup_cost = 0",
    "SET LOCAL min_parallel_table_scan_size = 0",
    "SET LOCAL max_parallel_workers_per_gather = 2",
    "SET LOCAL enable_indexscan = off",
    "SET LOCAL enable_bitmapscan = off",
)


def _in_parallel(conn: Connection) -> None:
    for setting in PARALLEL:
        conn.exec_driver_sql(setting)


@st.composite
def scenario(draw: st.DrawFn) -> Scenario:
    leads = draw(st.lists(lead_st, min_size=1, max_size=25))
    actions = []
    for i, lead in enumerate(leads):
        for a in draw(st.lists(action_st, max_size=4)):
            # often exactly at the deadline: the on-time/late boundary
            offset = lead.sla_min if draw(st.booleans()) else a.offset_min
            actions.append(GenAction(i, offset, a.kind, a.excludes, a.channel, a.new_owner))
    actions = draw(st.permutations(actions))  # recorded in any order
    start = draw(st.one_of(st.just(0), st.integers(0, 30))) * GRID
    length = draw(st.one_of(st.just(60), st.integers(1, 60))) * GRID
    moments = sorted({x for g in leads for x in (g.handed_min, g.handed_min + g.sla_min)})
    as_of = draw(
        st.one_of(
            st.just(80 * GRID),
            st.integers(0, 80).map(lambda n: n * GRID),
            st.sampled_from(moments),  # as of a handoff or a deadline exactly
        )
    )
    batches = draw(st.integers(1, 4))
    return leads, actions, start, start + length, as_of, batches


def _minutes(n: int) -> datetime:
    return BASE + timedelta(minutes=n)


def _store_and_model(
    engine: Engine, leads: list[GenLead], actions: list[GenAction], batches: int
) -> list[Lead]:
    reset(engine)
    with engine.begin() as conn:
        team = repo.sync_teams(conn, {"t": "UTC"}, NOW)["t"]
        ids = repo.add_leads(
            conn,
            [
                repo.NewLead(
                    source=g.source,
                    external_id=str(i),
                    team_id=team,
                    handed_off_at=_minutes(g.handed_min),
                    due_at=_minutes(g.handed_min + g.sla_min),
                    owner_email=g.owner,
                )
                for i, g in enumerate(leads)
            ],
            NOW,
        )
    new_actions = []
    for i, a in enumerate(actions):
        g = leads[a.lead]
        kind = a.kind
        new_actions.append(
            NewAction(
                lead_id=ids[(g.source, str(a.lead))],
                at=_minutes(g.handed_min + a.offset_min),
                kind=kind,
                idempotency_key=f"k{i}",
                via="test",
                channel=a.channel.value if kind is ActionKind.CONTACTED and a.channel else None,
                excludes=a.excludes and kind is ActionKind.REJECTED,
                new_owner_email=a.new_owner if kind is ActionKind.REASSIGNED else None,
            )
        )
    size = max(1, -(-len(new_actions) // batches))
    for start in range(0, len(new_actions), size):
        with engine.begin() as conn:
            repo.add_actions(conn, new_actions[start : start + size], NOW)

    model_actions: dict[int, list[Action]] = defaultdict(list)
    owners: dict[int, list[OwnerSpan]] = defaultdict(list)
    for seq, (gen, new) in enumerate(zip(actions, new_actions, strict=True), start=1):
        model_actions[gen.lead].append(
            Action(
                at=new.at,
                kind=new.kind,
                seq=seq,
                channel=ContactChannel(new.channel) if new.channel else None,
                excludes=new.excludes,
                new_owner=new.new_owner_email,
            )
        )
        if new.kind is ActionKind.REASSIGNED:
            owners[gen.lead].append(OwnerSpan(new.at, new.new_owner_email, seq))
    return [
        Lead(
            source=g.source,
            external_id=str(i),
            handed_off_at=_minutes(g.handed_min),
            due_at=_minutes(g.handed_min + g.sla_min),
            owners=(OwnerSpan(_minutes(g.handed_min), g.owner, 0), *owners[i]),
            actions=tuple(model_actions[i]),
        )
        for i, g in enumerate(leads)
    ]


def _expected(
    model: list[Lead], start: datetime, end: datetime, as_of: datetime
) -> tuple[Counts, dict[str | None, Counts], dict[str, Counts]]:
    cohort = [m for m in model if start <= m.handed_off_at < end and m.handed_off_at <= as_of]
    by_rep: dict[str | None, list[Lead]] = defaultdict(list)
    by_source: dict[str, list[Lead]] = defaultdict(list)
    for m in cohort:
        by_rep[attributed_rep(m, as_of)].append(m)
        by_source[m.source].append(m)
    return (
        tally(cohort, as_of),
        {k: tally(v, as_of) for k, v in by_rep.items()},
        {k: tally(v, as_of) for k, v in by_source.items()},
    )


@settings(max_examples=100)
@given(scenario())
def test_sql_report_equals_the_pure_rules(engine: Engine, case: Scenario) -> None:
    leads, actions, start_min, end_min, as_of_min, batches = case
    model = _store_and_model(engine, leads, actions, batches)
    start, end, as_of = _minutes(start_min), _minutes(end_min), _minutes(as_of_min)
    totals, by_rep, by_source = _expected(model, start, end, as_of)
    cohort = reports.Cohort(start, end, as_of)
    with engine.connect() as conn:
        assert reports.total(conn, cohort) == totals  # the one-aggregate path
        assert reports.breakdown(conn, cohort).totals == totals  # the grouped path
        assert dict(reports.by_rep(conn, cohort)) == by_rep
        assert dict(reports.by_source(conn, cohort)) == by_source


def test_postgresql_totals_split_across_workers_equal_the_pure_rules(engine: Engine) -> None:
    """Partial aggregates in the workers, combined once (the median's arrays joined): the
    plan is checked to be that one, so the combining step is what is tested."""
    if engine.dialect.name != "postgresql":
        return  # SQLite has no parallel query
    rng = random.Random(11)
    leads = [
        GenLead(rng.randrange(49) * GRID, rng.randrange(1, 13) * GRID, "web", rng.choice(REPS))
        for _ in range(3000)
    ]
    actions = [
        GenAction(
            rng.randrange(len(leads)),
            rng.randrange(17) * GRID + rng.randrange(60),  # many distinct medians' inputs
            rng.choice(list(ActionKind)),
            rng.random() < 0.1,
            rng.choice(list(ContactChannel)),
            rng.choice(REPS[:3]),
        )
        for _ in range(3000)
    ]
    model = _store_and_model(engine, leads, actions, 1)
    start, end, as_of = _minutes(0), _minutes(40 * GRID), _minutes(30 * GRID)
    cohort = reports.Cohort(start, end, as_of)
    statement = reports.totals_query_postgresql(cohort)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE leads")
        _in_parallel(conn)
        compiled = statement.compile(conn)
        plan = "\n".join(
            row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        )
        assert "Partial Aggregate" in plan
        assert "Finalize Aggregate" in plan
        totals = reports.total(conn, cohort)
    assert totals == _expected(model, start, end, as_of)[0]
    assert totals.actioned > 100

"""The CSV import writes what the row-by-row path writes (`ingest_leads`, `record_actions`:
the repository's `add_leads` and `add_actions`), whether it loads into a table it dwarfs
(a backfill: indexes and keys rebuilt) or into one that holds more (kept up in place);
and a backfill leaves the schema as it found it, even when it fails or is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from bot.app.actions import record_actions
from bot.app.fields import validate_action, validate_lead
from bot.app.handoffs import ingest_leads
from bot.app.imports import ActionImporter, ImportResult, LeadImporter
from bot.clock import FixedClock
from bot.config import Settings, parse_settings
from storage.engine import make_engine, writing
from tests.conftest import reset

CONFIG = """\
timezone: Asia/Tokyo
locale: en
teams:
  - name: enterprise
    timezone: Asia/Tokyo
    sla: {minutes: 240, business_hours: true}
    business_hours: {mon-fri: "09:00-18:00"}
    reps: [a@example.com, b@example.com]
  - name: smb
    timezone: America/New_York
    sla: {minutes: 1440, business_hours: false}
    reps: [c@example.com]
"""
LEADS_HEADER = "source,external_id,handed_off_at,team,owner_email,name,company,email,campaign\n"
ACTIONS_HEADER = "source,external_id,at,kind,actor_email,reason,new_owner_email\n"
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # some leads are recent enough to chase
BASE = datetime(2026, 11, 13, 0, 0, tzinfo=UTC)
REPS = ("a@example.com", "b@example.com", "c@example.com")
ROOT = Path(__file__).resolve().parents[2]


def _settings(database_url: str) -> Settings:
    return parse_settings(yaml.safe_load(CONFIG), "test.yml", env={"DATABASE_URL": database_url})


@dataclass(frozen=True)
class GenLead:
    hours: int
    team: str
    owner: str | None
    name: str


@dataclass(frozen=True)
class GenAction:
    lead: int
    hours: int  # after the lead's handoff: on a coarse grid, so that ties are common
    kind: str
    actor: str
    reason: str
    new_owner: str


lead_st = st.builds(
    GenLead,
    hours=st.integers(0, 24 * 10).map(lambda n: n - n % 3),
    team=st.sampled_from(["enterprise", "smb"]),
    owner=st.sampled_from([*REPS, None]),
    name=st.sampled_from(["Aiko", "Ben", ""]),
)
action_st = st.builds(
    GenAction,
    lead=st.integers(0, 7),
    hours=st.integers(0, 6),
    kind=st.sampled_from(
        ["contacted:call", "contacted:email", "rejected", "excluded", "reassigned", "snoozed"]
    ),
    actor=st.sampled_from(REPS),
    reason=st.sampled_from(["not_a_fit", "duplicate"]),  # keeps the lead, takes it out
    new_owner=st.sampled_from(REPS),
)


def _lead_line(source: str, i: int, g: GenLead) -> str:
    handed = (BASE + timedelta(hours=g.hours)).isoformat()
    return f"{source},L{i},{handed},{g.team},{g.owner or ''},{g.name},,,\n"


def _action_line(source: str, leads: list[GenLead], a: GenAction) -> str:
    lead = leads[a.lead % len(leads)]
    at = (BASE + timedelta(hours=lead.hours + a.hours)).isoformat()
    reason = a.reason if a.kind == "rejected" else ""
    new_owner = a.new_owner if a.kind == "reassigned" else ""
    return f"{source},L{a.lead % len(leads)},{at},{a.kind},{a.actor},{reason},{new_owner}\n"


def _import(
    engine: Engine, settings_: Settings, path: Path, kind: type[LeadImporter | ActionImporter]
) -> ImportResult:
    result = kind(
        engine,
        settings_,
        FixedClock(NOW),
        path,
        skip_invalid=False,
        on_error=lambda _: None,
        on_progress=lambda _: None,
    ).run()
    assert result.imported, (result.errors, result.write_error)
    return result


def _row_by_row(engine: Engine, settings_: Settings, leads: list[str], actions: list[str]) -> None:
    """The same lines through the use cases every other door uses."""
    lead_inputs = []
    for line in leads:
        fields = dict(zip(LEADS_HEADER.strip().split(","), line.strip().split(","), strict=True))
        lead = validate_lead(fields, settings_.team_names)
        assert not isinstance(lead, list), lead
        lead_inputs.append(lead)
    action_inputs = []
    for line in actions:
        fields = dict(zip(ACTIONS_HEADER.strip().split(","), line.strip().split(","), strict=True))
        action = validate_action(fields)
        assert not isinstance(action, list), action
        action_inputs.append(action)
    with writing(engine) as conn:
        ingest_leads(conn, settings_, lead_inputs, NOW)
    with writing(engine) as conn:
        outcome = record_actions(conn, settings_, action_inputs, NOW, via="csv")
        assert not outcome.errors


STORED = """
SELECT l.external_id, l.handed_off_at, l.due_at, l.next_nudge_at, l.nudge_stage,
       l.first_action_at, l.first_action_kind, l.first_action_channel, l.excluded_at,
       l.reassigned_at, io.email, o.email, l.name, l.team_id
FROM leads l
LEFT JOIN reps io ON io.id = l.initial_owner_id
LEFT JOIN reps o ON o.id = l.owner_id
WHERE l.source = :source ORDER BY l.external_id
"""
HISTORY = """
SELECT l.external_id, r.email, h.since, a.kind, a.at
FROM lead_owners h JOIN leads l ON l.id = h.lead_id
LEFT JOIN reps r ON r.id = h.rep_id LEFT JOIN actions a ON a.id = h.action_id
WHERE l.source = :source ORDER BY l.external_id, h.id
"""
ACTIONS = """
SELECT l.external_id, a.at, a.kind, a.channel, a.reason, a.excludes, ar.email, nr.email,
       a.via
FROM actions a JOIN leads l ON l.id = a.lead_id
LEFT JOIN reps ar ON ar.id = a.actor_id LEFT JOIN reps nr ON nr.id = a.new_owner_id
WHERE l.source = :source ORDER BY l.external_id, a.id
"""


def _stored(engine: Engine, source: str) -> tuple[list[Any], ...]:
    with engine.connect() as conn:
        return tuple(
            [tuple(row) for row in conn.execute(text(sql), {"source": source})]
            for sql in (STORED, HISTORY, ACTIONS)
        )


def _split(lines: list[str], at: int) -> list[list[str]]:
    at = min(at, len(lines))
    return [part for part in (lines[:at], lines[at:]) if part]


@settings(max_examples=30)
@given(
    leads=st.lists(lead_st, min_size=1, max_size=8),
    repeated=st.lists(st.integers(0, 7), max_size=3),
    actions=st.lists(action_st, max_size=16),
    lead_split=st.integers(1, 9),
    action_split=st.integers(0, 17),
    import_first=st.booleans(),
)
def test_an_import_stores_what_the_row_by_row_path_stores(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    *,
    leads: list[GenLead],
    repeated: list[int],
    actions: list[GenAction],
    lead_split: int,
    action_split: int,
    import_first: bool,
) -> None:
    """Imported first into empty tables, the import is a backfill (indexes and keys
    dropped and rebuilt); after the row-by-row copy, the tables hold as many rows as the
    import brings, and it writes in place. Leads and actions come in one or two files,
    with repeated lines; actions of a lead often share a moment."""
    tmp = tmp_path_factory.mktemp("same")
    engine = make_engine(database_url)
    try:
        reset(engine)
        settings_ = _settings(database_url)

        def lines(source: str) -> tuple[list[str], list[str]]:
            lead_lines = [_lead_line(source, i, g) for i, g in enumerate(leads)]
            lead_lines += [lead_lines[i % len(lead_lines)] for i in repeated]
            return lead_lines, [_action_line(source, leads, a) for a in actions]

        def by_import() -> None:
            lead_lines, action_lines = lines("imp")
            for n, part in enumerate(_split(lead_lines, lead_split)):
                path = tmp / f"leads{n}.csv"
                path.write_text(LEADS_HEADER + "".join(part), encoding="utf-8")
                _import(engine, settings_, path, LeadImporter)
            for n, part in enumerate(_split(action_lines, action_split)):
                path = tmp / f"actions{n}.csv"
                path.write_text(ACTIONS_HEADER + "".join(part), encoding="utf-8")
                _import(engine, settings_, path, ActionImporter)

        def by_rows() -> None:
            lead_lines, action_lines = lines("ref")
            for part in _split(lead_lines, lead_split):
                _row_by_row(engine, settings_, part, [])
            for part in _split(action_lines, action_split):
                _row_by_row(engine, settings_, [], part)

        for step in (by_import, by_rows) if import_first else (by_rows, by_import):
            step()
        assert _stored(engine, "imp") == _stored(engine, "ref")
    finally:
        engine.dispose()


def test_reimporting_changes_nothing_after_a_backfill(tmp_path: Path, database_url: str) -> None:
    settings_ = _settings(database_url)
    engine = make_engine(database_url)
    try:
        gen = [GenLead(3 * i, "enterprise", REPS[i % 3], f"n{i}") for i in range(40)]
        leads_csv = tmp_path / "leads.csv"
        leads_csv.write_text(
            LEADS_HEADER + "".join(_lead_line("web", i, g) for i, g in enumerate(gen)),
            encoding="utf-8",
        )
        acts = [GenAction(i % 40, i % 5, "reassigned", REPS[0], "", REPS[i % 3]) for i in range(60)]
        actions_csv = tmp_path / "actions.csv"
        actions_csv.write_text(
            ACTIONS_HEADER + "".join(_action_line("web", gen, a) for a in acts), encoding="utf-8"
        )
        first = (
            _import(engine, settings_, leads_csv, LeadImporter).added,
            _import(engine, settings_, actions_csv, ActionImporter).added,
        )
        stored = _stored(engine, "web")
        again = _import(engine, settings_, leads_csv, LeadImporter)
        again_actions = _import(engine, settings_, actions_csv, ActionImporter)
        assert first == (40, 60)
        assert (again.added, again.already_present) == (0, 40)
        assert (again_actions.added, again_actions.already_present) == (0, 60)
        assert _stored(engine, "web") == stored
    finally:
        engine.dispose()


# ------------------------------------------------------------------ the schema afterwards


def _schema(engine: Engine) -> list[Any]:
    """Every index and constraint of the tables an import writes, as the database
    describes them."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = (
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE tbl_name IN ('leads', 'lead_owners', 'actions', 'reps', 'teams') "
                "ORDER BY name"
            )
        else:
            sql = (
                "SELECT conrelid::regclass::text, conname, contype, "
                "pg_get_constraintdef(oid), convalidated FROM pg_constraint "
                "WHERE conrelid::regclass::text "
                "IN ('leads', 'lead_owners', 'actions', 'reps', 'teams') "
                "UNION ALL SELECT tablename, indexname, 'i', indexdef, true FROM pg_indexes "
                "WHERE schemaname = current_schema() "
                "AND tablename IN ('leads', 'lead_owners', 'actions', 'reps', 'teams') "
                "ORDER BY 2, 3"
            )
        return [tuple(row) for row in conn.execute(text(sql))]


@pytest.fixture
def engine_(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _files(tmp_path: Path, leads: int) -> tuple[Path, Path]:
    gen = [GenLead(i % 200, "smb", REPS[i % 3], f"n{i}") for i in range(leads)]
    leads_csv = tmp_path / "leads.csv"
    leads_csv.write_text(
        LEADS_HEADER + "".join(_lead_line("web", i, g) for i, g in enumerate(gen)),
        encoding="utf-8",
    )
    acts = [GenAction(i, 1, "reassigned", REPS[0], "", REPS[1]) for i in range(leads)]
    actions_csv = tmp_path / "actions.csv"
    actions_csv.write_text(
        ACTIONS_HEADER + "".join(_action_line("web", gen, a) for a in acts), encoding="utf-8"
    )
    return leads_csv, actions_csv


def test_a_backfill_leaves_every_index_and_key_as_it_was(
    tmp_path: Path, database_url: str, engine_: Engine
) -> None:
    before = _schema(engine_)
    leads_csv, actions_csv = _files(tmp_path, 50)
    settings_ = _settings(database_url)
    assert _import(engine_, settings_, leads_csv, LeadImporter).added == 50
    assert _import(engine_, settings_, actions_csv, ActionImporter).added == 50
    assert _schema(engine_) == before


def test_a_backfill_that_fails_leaves_the_schema_and_no_rows(
    tmp_path: Path, database_url: str, engine_: Engine
) -> None:
    """An owner-history row the database refuses (a trigger, standing in for a full disk)
    fails the lead backfill after its indexes were dropped: all of it is rolled back."""
    sqlite = engine_.dialect.name == "sqlite"
    with engine_.begin() as conn:
        if sqlite:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_owner BEFORE INSERT ON lead_owners "
                    "BEGIN SELECT RAISE(ABORT, 'refused on purpose'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_owner() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN RAISE EXCEPTION 'refused on purpose'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_owner BEFORE INSERT ON lead_owners "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_owner()"
                )
            )
    try:
        before = _schema(engine_)
        leads_csv, _ = _files(tmp_path, 50)
        result = LeadImporter(
            engine_,
            _settings(database_url),
            FixedClock(NOW),
            leads_csv,
            skip_invalid=False,
            on_error=lambda _: None,
            on_progress=lambda _: None,
        ).run()
        assert not result.imported
        assert result.write_error is not None
        assert "refused on purpose" in result.write_error
        assert _schema(engine_) == before
        with engine_.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM leads")).scalar_one() == 0
    finally:
        with engine_.begin() as conn:
            conn.execute(
                text("DROP TRIGGER IF EXISTS refuse_owner" + ("" if sqlite else " ON lead_owners"))
            )
            if not sqlite:
                conn.execute(text("DROP FUNCTION IF EXISTS refuse_owner()"))


@pytest.mark.slow
def test_an_import_killed_at_any_moment_leaves_all_or_nothing(
    tmp_path: Path, database_url: str, engine_: Engine
) -> None:
    """`ignorerate import leads` in a process of its own, killed (SIGKILL) a little later
    each time: the leads are all there or none is, and the schema is whole."""
    before = _schema(engine_)
    leads_csv, _ = _files(tmp_path, 20_000)
    config = tmp_path / "ignorerate.yml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "IGNORERATE_CONFIG": str(config),
        "PYTHONPATH": str(ROOT),
    }
    for delay in (0.5, 1.5, 2.5, 3.5, 5.0):
        reset(engine_)
        child = subprocess.Popen(  # noqa: S603 (our own command line)
            [sys.executable, "-m", "bot", "import", "leads", str(leads_csv)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        with engine_.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM leads")).scalar_one()
            owners = conn.execute(text("SELECT count(*) FROM lead_owners")).scalar_one()
        assert (stored, owners) in ((0, 0), (20_000, 20_000))
        assert _schema(engine_) == before

"""The command line, end to end, against real databases (SQLite file and PostgreSQL)."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner, Result

from bot.cli import main
from tests.builders import read_csv

CONFIG = """\
timezone: Asia/Tokyo
locale: en
teams:
  - name: enterprise
    timezone: Asia/Tokyo
    sla: {minutes: 240, business_hours: true}
    business_hours: {mon-fri: "09:00-18:00"}
    holidays: ["2026-11-23"]
    reps: [a@example.com, b@example.com]
  - name: smb
    timezone: America/New_York
    sla: {minutes: 1440, business_hours: false}
    reps: [c@example.com]
"""
LEADS_HEADER = "source,external_id,handed_off_at,team,owner_email,name,company,email,campaign\n"
ACTIONS_HEADER = "source,external_id,at,kind,actor_email,reason,new_owner_email\n"


class Cli:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.dir = tmp_path
        self.config = tmp_path / "ignorerate.yml"
        self.config.write_text(CONFIG, encoding="utf-8")
        self.env = {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(self.config)}

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    def file(self, name: str, text: str) -> str:
        path = self.dir / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def report(self, *args: str) -> dict[str, Any]:
        result = self("report", *args, "--format", "json")
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.output)
        return data


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path, database_url)


# October 2026 in Tokyo; 240 business minutes, Mon-Fri 09-18.
OCTOBER = LEADS_HEADER + (
    "web,1,2026-10-05T09:00:00+09:00,enterprise,a@example.com,Aiko,Acme,aiko@acme.example,fall\n"
    "web,2,2026-10-05T09:00:00+09:00,enterprise,a@example.com,,,,\n"
    "event,3,2026-10-06T10:00:00+09:00,enterprise,b@example.com,,,,\n"
    "event,4,2026-10-07T10:00:00+09:00,enterprise,b@example.com,,,,\n"
    "web,5,2026-10-08T10:00:00+09:00,enterprise,,,,,\n"
    "web,6,2026-11-02T10:00:00+09:00,enterprise,a@example.com,,,,\n"
)
OCTOBER_ACTIONS = ACTIONS_HEADER + (
    "web,1,2026-10-05T09:30:00+09:00,contacted:call,a@example.com,,\n"  # on time, 30 min
    # late: due 13:00 on the 5th
    "web,2,2026-10-06T09:30:00+09:00,contacted:email,a@example.com,,\n"
    "event,3,2026-10-06T11:00:00+09:00,rejected,b@example.com,no_budget,\n"  # on time, 60 min
    "event,4,2026-10-07T11:00:00+09:00,rejected,b@example.com,duplicate,\n"  # excluded
)


def _load_october(cli: Cli) -> None:
    assert cli("import", "leads", cli.file("leads.csv", OCTOBER)).exit_code == 0
    result = cli("import", "actions", cli.file("actions.csv", OCTOBER_ACTIONS))
    assert result.exit_code == 0, result.output


def test_init_writes_an_example_config_and_creates_the_database(
    tmp_path: Path, database_url: str
) -> None:
    config = tmp_path / "fresh.yml"
    env = {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(config)}
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert "teams:" in config.read_text(encoding="utf-8")
    again = CliRunner().invoke(main, ["init"], env=env)
    assert "keeping it" in again.output
    report = CliRunner().invoke(main, ["report", "last-month", "--format", "json"], env=env)
    assert report.exit_code == 0, report.output


def test_report_before_the_schema_exists_says_to_upgrade(tmp_path: Path) -> None:
    config = tmp_path / "c.yml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "IGNORERATE_CONFIG": str(config)}
    result = CliRunner().invoke(main, ["report", "last-month"], env=env)
    assert result.exit_code == 2
    assert "ignorerate db upgrade" in result.output


def test_report_json_has_the_contract_shape_and_the_spec_numbers(cli: Cli) -> None:
    _load_october(cli)
    data = cli.report("last-month", "--team", "enterprise", "--as-of", "2026-11-24T12:00:00+09:00")
    assert data["period"] == {
        "name": "last-month",
        "start": "2026-10-01T00:00:00+09:00",
        "end": "2026-11-01T00:00:00+09:00",
        "timezone": "Asia/Tokyo",
    }
    assert data["as_of"] == "2026-11-24T12:00:00+09:00"
    assert data["team"] == "enterprise"
    assert data["totals"] == {
        "handed_off": 5,
        "excluded": 1,
        "pending": 0,
        "counted": 4,
        "ignored": 1,
        "actioned": 3,
        "on_time": 2,
        "late": 1,
        "rejected": 1,
        "ignore_rate": 25.0,
        "sal_rate": 75.0,
        "sla_breach_rate": 50.0,
        "median_first_action_minutes": 60.0,
    }
    by_rep = {r["rep"]: r for r in data["by_rep"]}
    assert set(by_rep) == {"a@example.com", "b@example.com", None}
    assert by_rep[None]["ignored"] == 1
    assert by_rep["a@example.com"]["late"] == 1
    by_source = {r["source"]: r["handed_off"] for r in data["by_source"]}
    assert by_source == {"event": 2, "web": 3}


def test_reimporting_the_same_files_adds_nothing(cli: Cli) -> None:
    _load_october(cli)
    before = cli.report("2026", "--as-of", "2026-11-24T12:00:00+09:00")
    again_leads = cli("import", "leads", str(cli.dir / "leads.csv"))
    again_actions = cli("import", "actions", str(cli.dir / "actions.csv"))
    assert "0 added, 6 already present" in again_leads.output
    assert "0 added, 4 already present" in again_actions.output
    assert cli.report("2026", "--as-of", "2026-11-24T12:00:00+09:00") == before


def test_as_of_before_a_touch_counts_the_lead_as_it_was_then(cli: Cli) -> None:
    _load_october(cli)
    data = cli.report("2026-10-05", "--team", "enterprise", "--as-of", "2026-10-05T12:00:00+09:00")
    totals = data["totals"]
    assert isinstance(totals, dict)
    assert (totals["handed_off"], totals["pending"], totals["on_time"]) == (2, 1, 1)


def test_bad_lead_rows_are_all_reported_and_nothing_is_imported(cli: Cli) -> None:
    text = LEADS_HEADER + (
        "web,1,2026-10-05T09:00:00+09:00,enterprise,a@example.com,,,,\n"
        "web,,2026-10-05T09:00:00,nowhere,not-an-email,,,,\n"
        "web,3,yesterday,enterprise,,,,,\n"
    )
    result = cli("import", "leads", cli.file("bad.csv", text))
    assert result.exit_code == 2
    out = result.output
    assert "line 3: external_id: is required" in out
    assert "line 3: handed_off_at:" in out
    assert "has no UTC offset" in out
    assert 'line 3: team: unknown team "nowhere"; configured teams: enterprise, smb' in out
    assert 'line 3: owner_email: "not-an-email" is not an email address' in out
    assert "line 4: handed_off_at:" in out
    assert "nothing was imported" in out
    totals = cli.report("2026", "--as-of", "2026-11-24T12:00:00+09:00")["totals"]
    assert isinstance(totals, dict)
    assert totals["handed_off"] == 0


def test_skip_invalid_imports_the_good_rows_and_sets_the_bad_aside(cli: Cli) -> None:
    text = LEADS_HEADER + (
        "web,1,2026-10-05T09:00:00+09:00,enterprise,a@example.com,,,,\n"
        "web,2,not a time,enterprise,,,,,\n"
        "web,3,2026-10-05T10:00:00+09:00,smb,c@example.com,,,,\n"
    )
    result = cli("import", "leads", cli.file("mixed.csv", text), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "3 rows, 2 added, 0 already present, 1 bad" in result.output
    rejects = list(read_csv(cli.dir / "mixed.rejected.csv"))
    assert [(r["line"], r["external_id"]) for r in rejects] == [("3", "2")]
    assert rejects[0]["error"].startswith("handed_off_at:")
    totals = cli.report("2026", "--as-of", "2026-11-24T12:00:00+09:00")["totals"]
    assert isinstance(totals, dict)
    assert totals["handed_off"] == 2


@pytest.mark.one_backend
def test_a_file_with_wrong_columns_is_refused_naming_them(cli: Cli) -> None:
    result = cli("import", "leads", cli.file("cols.csv", "source,id,when\nweb,1,x\n"))
    assert result.exit_code == 2
    assert "missing columns: external_id, handed_off_at, team" in result.output
    assert "unknown columns: id, when" in result.output


@pytest.mark.one_backend
def test_a_row_with_the_wrong_number_of_cells_is_named(cli: Cli) -> None:
    text = LEADS_HEADER + "web,1,2026-10-05T09:00:00+09:00\n"
    result = cli("import", "leads", cli.file("short.csv", text))
    assert "line 2: row: has 3 cells; the header has 9" in result.output


def test_actions_for_unknown_leads_or_before_handoff_are_refused(cli: Cli) -> None:
    _load_october(cli)
    text = ACTIONS_HEADER + (
        "web,999,2026-10-05T09:30:00+09:00,contacted:call,a@example.com,,\n"
        "web,1,2026-10-04T09:30:00+09:00,contacted:call,a@example.com,,\n"
        "web,1,2026-10-05T09:40:00+09:00,waved,a@example.com,,\n"
        "web,1,2026-10-05T09:40:00+09:00,rejected,a@example.com,,\n"
        "web,1,2026-10-05T09:40:00+09:00,reassigned,a@example.com,,\n"
    )
    result = cli("import", "actions", cli.file("bad-actions.csv", text))
    out = result.output
    assert result.exit_code == 2
    assert 'line 2: external_id: no lead "999" from source "web"' in out
    assert "line 3: at: 2026-10-04T09:30:00+09:00 is before the lead's handoff" in out
    assert 'line 4: kind: "waved" is not a kind; expected one of contacted:call' in out
    assert "line 5: reason: a rejection needs a reason" in out
    assert "line 6: new_owner_email: a reassignment needs the new owner's email" in out


@pytest.mark.one_backend
def test_report_rejects_a_bad_period_listing_the_forms(cli: Cli) -> None:
    result = cli("report", "last month")
    assert result.exit_code == 2
    assert "last-N-days" in result.output
    assert "先月" in result.output


@pytest.mark.one_backend
def test_report_rejects_an_unknown_team(cli: Cli) -> None:
    result = cli("report", "last-month", "--team", "nope")
    assert result.exit_code == 2
    assert 'unknown team "nope"; configured teams: enterprise, smb' in result.output


def test_report_text_shows_rates_and_pending_and_no_leads_honestly(cli: Cli) -> None:
    _load_october(cli)
    text = cli(
        "report", "last-month", "--team", "enterprise", "--as-of", "2026-11-24T12:00:00+09:00"
    )
    assert "ignore % 25.0%" in text.output
    assert "a@example.com" in text.output
    empty = cli("report", "2025", "--as-of", "2026-11-24T12:00:00+09:00")
    assert "no leads to count" in empty.output


def test_report_text_in_japanese(cli: Cli) -> None:
    cli.config.write_text(CONFIG.replace("locale: en", "locale: ja"), encoding="utf-8")
    _load_october(cli)
    text = cli("report", "先月", "--team", "enterprise", "--as-of", "2026-11-24T12:00:00+09:00")
    assert text.exit_code == 0, text.output
    assert "無視率 25.0%" in text.output


def test_report_csv_has_a_row_per_group(cli: Cli) -> None:
    _load_october(cli)
    out = cli(
        "report",
        "last-month",
        "--team",
        "enterprise",
        "--as-of",
        "2026-11-24T12:00:00+09:00",
        "--format",
        "csv",
    ).output
    rows = list(csv.DictReader(out.splitlines()))
    assert [r["group"] for r in rows] == ["total", "rep", "rep", "rep", "source", "source"]
    assert rows[0]["ignore_rate"] == "25.0"


def test_export_gives_every_lead_with_its_outcome_as_of(cli: Cli) -> None:
    _load_october(cli)
    out = cli.dir / "export.csv"
    result = cli("export", "leads", str(out), "--as-of", "2026-11-24T12:00:00+09:00")
    assert result.exit_code == 0, result.output
    rows = {r["external_id"]: r for r in read_csv(out)}
    assert {k: r["outcome"] for k, r in rows.items()} == {
        "1": "on_time",
        "2": "late",
        "3": "on_time",
        "4": "excluded",
        "5": "ignored",
        "6": "ignored",
    }
    assert rows["1"]["due_at"] == "2026-10-05T04:00:00+00:00"  # 13:00 JST
    assert rows["2"]["first_action_kind"] == "contacted:email"
    assert rows["5"]["owner_email"] == ""
    early = cli.dir / "early.csv"
    cli("export", "leads", str(early), "--as-of", "2026-10-05T09:10:00+09:00")
    assert {r["external_id"]: r["outcome"] for r in read_csv(early)} == {
        "1": "pending",
        "2": "pending",
    }


@pytest.mark.one_backend
def test_a_bad_config_names_the_file_and_key(cli: Cli) -> None:
    cli.config.write_text(CONFIG.replace("minutes: 1440", 'minutes: "abc"'), encoding="utf-8")
    result = cli("report", "last-month")
    assert result.exit_code == 2
    assert (
        f'{cli.config}: teams[1].sla.minutes: expected a positive integer, got "abc"'
        in result.output
    )


def _overdue_leads(database_url: str) -> None:
    from bot.app.fields import LeadInput
    from bot.app.handoffs import receive_handoffs
    from bot.config import parse_settings
    from storage.engine import make_engine

    engine = make_engine(database_url)
    settings = parse_settings(yaml.safe_load(CONFIG), "test.yml", env={})
    handed = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    leads = [
        LeadInput("web", f"S{i}", handed, "enterprise", owner, *[None] * 4)
        for i, owner in enumerate(["a@example.com", "a@example.com", "b@example.com"])
    ]
    receive_handoffs(engine, settings, leads, handed)
    engine.dispose()


def test_sweep_dry_run_prints_what_would_be_sent_and_writes_nothing(
    cli: Cli, database_url: str
) -> None:
    _overdue_leads(database_url)
    at = "2026-11-24T13:00:00+09:00"  # the 240 business minutes ran out at 13:00
    dry = cli("sweep", "--once", "--dry-run", "--at", at)
    assert dry.exit_code == 0, dry.output
    assert dry.output.count("reminder") == 3
    assert "message    digest:rep:a@example.com:20261124T0400 -> a@example.com (2 leads)" in (
        dry.output
    )
    assert "3 nudges, 0 reassignments, 2 messages would be queued (dry run" in dry.output
    real = cli("sweep", "--once", "--at", at)
    assert real.exit_code == 0, real.output
    assert "3 nudges, 0 reassignments, 2 messages queued" in real.output  # nothing was taken
    again = cli("sweep", "--once", "--at", at)
    assert "0 nudges, 0 reassignments, 0 messages queued" in again.output
    listed = cli("outbox", "--pending")
    assert "digest:rep:b@example.com:20261124T0400" in listed.output


@pytest.mark.one_backend
def test_sweep_without_once_says_serve_runs_it(cli: Cli) -> None:
    result = cli("sweep")
    assert result.exit_code == 2
    assert "runs inside `ignorerate serve`" in result.output


def test_a_rep_marked_away_and_back(cli: Cli, database_url: str) -> None:
    from sqlalchemy import select

    from storage.engine import make_engine
    from storage.tables import Rep

    assert cli("away", "B@example.com").output == "b@example.com is away\n"
    engine = make_engine(database_url)
    query = select(Rep.__table__.c.away).where(Rep.__table__.c.email == "b@example.com")
    with engine.connect() as conn:
        assert conn.execute(query).scalar_one() is True
    assert cli("away", "b@example.com", "--back").exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(query).scalar_one() is False
    engine.dispose()
    assert cli("away", "nobody").exit_code == 2

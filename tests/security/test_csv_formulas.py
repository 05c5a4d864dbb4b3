"""Exports are safe to open in a spreadsheet: a cell that would start a formula is written
as text (OWASP, "CSV Injection"), whatever a handoff carried. The JSON report is data and
stays exactly as stored."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.present.render import spreadsheet_cell

CONFIG = """\
timezone: Asia/Tokyo
teams:
  - name: enterprise
    sla: {minutes: 60, business_hours: false}
    reps: [a@example.com]
"""
HOSTILE_SOURCE = "=cmd|' /C calc'!A0"
LEADS = [
    # source, external_id, owner
    (HOSTILE_SOURCE, "+1", "=x@example.com"),
    ("web", "-2", "+y@example.com"),
    ("web", "@SUM(A1:A9)", "-z@example.com"),
    ("web", "ok", "a@example.com"),
]
AS_OF = "2026-11-24T12:00:00+09:00"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+81 3 1234", "'+81 3 1234"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),  # spaces first: some spreadsheets drop them
        ("＝1+1", "'＝1+1"),  # full-width, as a Japanese IME types it
        ("web", "web"),
        ("a=b", "a=b"),
        ("25.0", "25.0"),
        (0, "0"),
        (None, ""),
        ("", ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(value: object, written: str) -> None:
    assert spreadsheet_cell(value) == written


@pytest.fixture
def loaded(tmp_path: Path, database_url: str) -> tuple[Path, dict[str, str]]:
    config = tmp_path / "ignorerate.yml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(config)}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["source", "external_id", "handed_off_at", "team", "owner_email"])
    for source, external_id, owner in LEADS:
        writer.writerow([source, external_id, "2026-11-20T10:00:00+09:00", "enterprise", owner])
    leads = tmp_path / "leads.csv"
    leads.write_text(out.getvalue(), encoding="utf-8")
    result = run(env, "import", "leads", str(leads))
    assert result.exit_code == 0, result.output
    return tmp_path, env


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.mark.one_backend
def test_export_leads_writes_formulas_as_text(loaded: tuple[Path, dict[str, str]]) -> None:
    tmp_path, env = loaded
    out = tmp_path / "export.csv"
    assert run(env, "export", "leads", str(out), "--as-of", AS_OF).exit_code == 0
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    cells = {(r["source"], r["external_id"], r["owner_email"]) for r in rows}
    assert cells == {
        ("'" + HOSTILE_SOURCE, "'+1", "'=x@example.com"),
        ("web", "'-2", "'+y@example.com"),
        ("web", "'@SUM(A1:A9)", "'-z@example.com"),
        ("web", "ok", "a@example.com"),
    }
    assert {r["charged_to"] for r in rows} == {
        "'=x@example.com",
        "'+y@example.com",
        "'-z@example.com",
        "a@example.com",
    }
    assert {r["outcome"] for r in rows} == {"ignored"}


@pytest.mark.one_backend
def test_report_csv_writes_formulas_as_text_and_json_keeps_the_data(
    loaded: tuple[Path, dict[str, str]],
) -> None:
    _, env = loaded
    result = run(env, "report", "2026-11", "--as-of", AS_OF, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    keys = {(r["group"], r["key"]) for r in rows}
    assert ("source", "'" + HOSTILE_SOURCE) in keys
    assert ("rep", "'=x@example.com") in keys
    assert ("rep", "'-z@example.com") in keys
    assert ("source", "web") in keys
    assert [r["handed_off"] for r in rows if r["group"] == "total"] == ["4"]
    data = json.loads(run(env, "report", "2026-11", "--as-of", AS_OF, "--format", "json").output)
    assert HOSTILE_SOURCE in {s["source"] for s in data["by_source"]}
    assert "=x@example.com" in {r["rep"] for r in data["by_rep"]}

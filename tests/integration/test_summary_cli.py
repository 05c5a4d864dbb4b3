"""`ignorerate summary`: a dry run writes nothing, a week is made once unless resent, and
a bad week or team is refused saying what is accepted (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import FromClause, func, select

from bot.cli import main
from storage.engine import make_engine
from storage.tables import OutboxMessage, Team, WeeklySummary
from tests.integration.summary_data import CONFIG


class Cli:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.url = database_url
        config = tmp_path / "ignorerate.yml"
        config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
        self.env = {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(config)}

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    def count(self, table: FromClause) -> int:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        finally:
            engine.dispose()


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path, database_url)


def test_a_dry_run_prints_the_summary_and_where_it_would_go_and_writes_nothing(cli: Cli) -> None:
    result = cli("summary", "--team", "east", "--week", "2026-W47", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would post to CEAST" in result.output
    assert "Weekly summary: east, 2026-W47" in result.output
    assert "no leads to count" in result.output
    assert "ignore-rate-2026-W47.png" in result.output
    assert "has not ended" not in result.output
    for table in (WeeklySummary.__table__, OutboxMessage.__table__, Team.__table__):
        assert cli.count(table) == 0


@pytest.mark.one_backend
@pytest.mark.parametrize("week", ["2026-47", "last-week", "2025-W53"])
def test_a_bad_week_is_refused_naming_the_accepted_form(cli: Cli, week: str) -> None:
    result = cli("summary", "--team", "east", "--week", week)
    assert result.exit_code == 2
    assert "YYYY-Www" in result.output
    assert "2026-W47" in result.output


@pytest.mark.one_backend
def test_an_unknown_team_is_refused_naming_the_configured_ones(cli: Cli) -> None:
    result = cli("summary", "--team", "west", "--week", "2026-W47")
    assert result.exit_code == 2
    assert 'unknown team "west"' in result.output
    assert "east, berlin, quiet, nowhere" in result.output


@pytest.mark.one_backend
def test_a_team_without_a_channel_is_refused(cli: Cli) -> None:
    result = cli("summary", "--team", "nowhere", "--week", "2026-W47")
    assert result.exit_code == 2
    assert "no slack_channel" in result.output
    assert cli.count(WeeklySummary.__table__) == 0


def test_a_summary_is_queued_once_and_resent_only_when_asked(cli: Cli) -> None:
    made = cli("summary", "--team", "east", "--week", "2026-W47")
    assert made.exit_code == 0, made.output
    assert "summary:east:2026-W47" in made.output
    assert "ignorerate serve" in made.output
    assert cli.count(OutboxMessage.__table__) == 2

    again = cli("summary", "--team", "east", "--week", "2026-W47")
    assert again.exit_code == 1
    assert "already made on 20" in again.output
    assert "--resend" in again.output
    assert cli.count(OutboxMessage.__table__) == 2

    resent = cli("summary", "--team", "east", "--week", "2026-W47", "--resend")
    assert resent.exit_code == 0, resent.output
    assert "summary:east:2026-W47:resend-1" in resent.output
    assert "ignorerate serve" in resent.output
    assert cli.count(OutboxMessage.__table__) == 4
    assert cli.count(WeeklySummary.__table__) == 1


def test_a_week_not_over_yet_is_made_with_a_warning_that_it_is_partial(cli: Cli) -> None:
    result = cli("summary", "--team", "east", "--week", "2099-W01", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "2099-W01 has not ended yet" in result.output

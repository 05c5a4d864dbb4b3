"""Reports, exports and sweeps refuse periods and moments outside the supported instants
with a clear message naming what was wrong, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.present.i18n.catalog import CATALOG
from metrics.instants import FIRST_DAY, LAST_DAY

CONFIG = """\
timezone: Asia/Tokyo
teams:
  - name: enterprise
    sla: {minutes: 60, business_hours: false}
    reps: [a@example.com]
"""
SUPPORTED = "(from 1970-01-01T00:00:00Z up to, not including, 2100-01-01T00:00:00Z)"


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    config = tmp_path / "ignorerate.yml"
    config.write_text(CONFIG, encoding="utf-8")
    return {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(config)}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("period", ["0001", "9999", "1969-12-31", "2099-12-01..2100-01-31"])
def test_report_of_a_period_outside_the_supported_days_names_them(
    env: dict[str, str], period: str
) -> None:
    result = run(env, "report", period, "--as-of", "2026-11-24T12:00:00+09:00")
    assert result.exit_code == 2, result.output
    assert f"unknown period '{period}' (outside the supported days, " in result.output
    assert "from 1970-01-01 to 2099-12-31); accepted forms: today, yesterday" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("report", "today", "--as-of"),
        ("export", "leads", "-", "--as-of"),
        ("sweep", "--once", "--dry-run", "--at"),
    ],
)
@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00"])
def test_a_moment_outside_the_supported_range_is_refused_naming_the_option(
    env: dict[str, str], args: tuple[str, ...], moment: str
) -> None:
    result = run(env, *args, moment)
    assert result.exit_code == 2, result.output
    option = args[-1]
    assert f"error: {option}: {moment} is outside the supported range {SUPPORTED}" in result.output


def test_a_relative_period_reaching_before_1970_is_refused(env: dict[str, str]) -> None:
    result = run(env, "report", "last-30-days", "--as-of", "1970-01-10T00:00:00Z")
    assert result.exit_code == 2, result.output
    assert "outside the supported days" in result.output


def test_chat_period_errors_state_the_supported_days_in_both_languages() -> None:
    for text in CATALOG["period.error"].values():
        assert FIRST_DAY.isoformat() in text
        assert LAST_DAY.isoformat() in text


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52", "1970-W01"])
def test_a_summary_week_outside_the_supported_days_is_refused(
    env: dict[str, str], week: str
) -> None:
    result = run(env, "summary", "--team", "enterprise", "--week", week, "--dry-run")
    assert result.exit_code == 2, result.output
    assert (
        f"error: --week: unknown week '{week}' (outside the supported days, "
        "from 1970-01-01 to 2099-12-31)"
    ) in result.output

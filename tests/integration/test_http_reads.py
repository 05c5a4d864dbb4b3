"""What the HTTP doors read through the use cases: the summary a chart link's team id
names (none for an id no team has, or a team the config no longer names), and the health
check's question to the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

from bot.app.charts import chart_summary
from bot.app.summaries import build_summary
from bot.config import parse_settings
from storage import reports
from storage.engine import DatabaseError, make_engine, ping
from tests.integration.summary_data import CONFIG, seed, settings_for

NOW = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def test_a_chart_reads_the_summary_of_the_team_its_id_names(engine: Engine) -> None:
    settings = settings_for(engine.url.render_as_string(hide_password=False))
    seed(engine, settings, datetime(2026, 10, 1, tzinfo=UTC))
    with engine.connect() as conn:
        east = reports.team_id(conn, "east")
        expected = build_summary(conn, settings, "east", "2026-W46", NOW)
    assert east is not None
    assert chart_summary(engine, settings, east, "2026-W46", NOW) == expected
    assert chart_summary(engine, settings, 999_999, "2026-W46", NOW) is None  # no such id
    # the team's rows stay after it leaves the config; its chart links then find no team
    without_east = {**CONFIG, "teams": [t for t in CONFIG["teams"] if t["name"] != "east"]}
    later = parse_settings(
        yaml.safe_load(yaml.safe_dump(without_east)),
        "test.yml",
        {"DATABASE_URL": engine.url.render_as_string(hide_password=False)},
    )
    assert chart_summary(engine, later, east, "2026-W46", NOW) is None


def test_the_health_check_pings_the_database(engine: Engine, tmp_path: Path) -> None:
    ping(engine)  # answers: returns
    unreachable = make_engine(f"sqlite:///{tmp_path / 'no-such-directory' / 'bot.db'}")
    with pytest.raises(DatabaseError):
        ping(unreachable)
    unreachable.dispose()

"""The minute tick: one process at a time, on SQLite by a file lock, on PostgreSQL by an
advisory lock held for the tick's transaction."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, text

from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.cli import main as cli
from bot.clock import FixedClock
from bot.config import parse_settings
from bot.scheduler import TICK_LOCK, Scheduler, SchedulerLockedError, Ticker
from bot.serve import default_jobs
from storage.engine import make_engine
from storage.tables import Nudge, OutboxMessage

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
CONFIG = {
    "timezone": "UTC",
    "teams": [
        {
            "name": "t",
            "sla": {"minutes": 60, "business_hours": False},
            "managers": ["boss@example.com"],
            "reps": ["a@example.com"],
            "summary": False,
        }
    ],
}


def _overdue_lead(engine: Engine) -> None:
    settings = parse_settings(CONFIG, "test.yml", env={})
    lead = LeadInput("web", "L1", NOW - timedelta(hours=3), "t", "a@example.com", *[None] * 4)
    receive_handoffs(engine, settings, [lead], NOW - timedelta(hours=3))


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_second_scheduler_on_one_sqlite_file_refuses_to_start_and_says_why(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "one.db"
    path.write_bytes(sqlite_template.read_bytes())
    engines = [make_engine(f"sqlite:///{path}") for _ in range(2)]
    settings = parse_settings(CONFIG, "test.yml", env={})
    first, second = (
        Scheduler(Ticker(e, settings, FixedClock(NOW)), interval=3600) for e in engines
    )
    with first:
        with pytest.raises(SchedulerLockedError) as refused:
            second.start()
        message = str(refused.value)
        assert "already runs the scheduler on this SQLite database" in message
        assert "PostgreSQL" in message
        assert "pid " in message
    second.start()  # the first is gone: now it may
    second.stop()
    for engine in engines:
        engine.dispose()


def test_serve_refuses_to_start_beside_another_scheduler_on_the_same_sqlite_file(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "one.db"
    path.write_bytes(sqlite_template.read_bytes())
    config = tmp_path / "ignorerate.yml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    engine = make_engine(f"sqlite:///{path}")
    settings = parse_settings(CONFIG, "test.yml", env={})
    with Scheduler(Ticker(engine, settings, FixedClock(NOW)), interval=3600):
        result = CliRunner().invoke(
            cli,
            ["--config", str(config), "serve", "--port", "0"],
            env={"DATABASE_URL": f"sqlite:///{path}"},
        )
    assert result.exit_code == 2
    assert "already runs the scheduler" in result.output
    engine.dispose()


def test_the_scheduler_ticks_at_start_and_hands_what_it_queued_to_the_sender(
    engine: Engine,
) -> None:
    _overdue_lead(engine)
    woken: list[bool] = []
    settings = parse_settings(CONFIG, "test.yml", env={})
    ticker = Ticker(
        engine, settings, FixedClock(NOW), jobs=default_jobs(), on_queued=lambda: woken.append(True)
    )
    with Scheduler(ticker, interval=3600):
        deadline = time.monotonic() + 10
        while not woken and time.monotonic() < deadline:
            time.sleep(0.02)
    assert woken == [True]
    assert _count(engine, Nudge.__table__) == 2  # the reminder and the escalation
    assert _count(engine, OutboxMessage.__table__) == 3  # the card, then a digest each


def test_on_postgresql_a_tick_that_finds_the_lock_held_does_nothing(pg_url: str) -> None:
    engine = make_engine(pg_url)
    from tests.conftest import reset

    reset(engine)
    _overdue_lead(engine)
    settings = parse_settings(CONFIG, "test.yml", env={})
    results: list[str] = []
    ticker = Ticker(engine, settings, FixedClock(NOW), on_tick=results.append)
    other = make_engine(pg_url)
    with other.connect() as holder, holder.begin():
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": TICK_LOCK})
        assert ticker.tick() is None
        assert _count(engine, Nudge.__table__) == 0
    result = ticker.tick()  # the other replica's tick is over
    assert result is not None
    assert len(result.sweep.decisions) == 2
    assert results == ["skipped", "done"]
    other.dispose()
    engine.dispose()

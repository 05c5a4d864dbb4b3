"""The service leaves the process's own settings alone: the switch interval and the GC's
frozen objects are `serve`'s to set (bot.serve.process_tuning), around the service."""

from __future__ import annotations

import gc
import sys
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.clock import FixedClock
from bot.config import parse_settings, read_environment
from bot.serve import build_service

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def test_starting_and_stopping_the_service_touches_no_process_setting(
    engine: Engine, database_url: str
) -> None:
    raw = {
        "timezone": "UTC",
        "database_url": database_url,
        "teams": [{"name": "sales", "sla": {"minutes": 60}, "reps": ["a@example.com"]}],
    }
    settings = parse_settings(raw, "test.yml", env={})
    service = build_service(
        settings, read_environment({}), FixedClock(NOW), scheduler_interval=None
    )
    interval, frozen = sys.getswitchinterval(), gc.get_freeze_count()
    service.start()
    try:
        assert sys.getswitchinterval() == interval
        assert gc.get_freeze_count() == frozen
    finally:
        service.stop()
    assert sys.getswitchinterval() == interval
    assert gc.get_freeze_count() == frozen

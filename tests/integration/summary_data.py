"""Teams and four weeks of leads for the weekly summary's tests (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Engine

from bot.app.actions import record_actions
from bot.app.fields import ActionInput, LeadInput
from bot.app.handoffs import ingest_leads
from bot.config import Settings, parse_settings
from metrics.model import ActionKind

CONFIG: dict[str, Any] = {
    "timezone": "UTC",
    "locale": "en",
    "teams": [
        {
            "name": "east",
            "timezone": "America/New_York",
            "sla": {"minutes": 60, "business_hours": False},
            "slack_channel": "CEAST",
            "reps": ["a@example.com", "b@example.com"],
        },
        {
            "name": "berlin",
            "timezone": "Europe/Berlin",
            "sla": {"minutes": 1440, "business_hours": False},
            "slack_channel": "CBERLIN",
            "reps": ["c@example.com"],
        },
        {
            "name": "quiet",
            "timezone": "Asia/Tokyo",
            "sla": {"minutes": 60, "business_hours": False},
            "slack_channel": "CQUIET",
            "summary": False,
        },
        {
            "name": "nowhere",
            "timezone": "Asia/Tokyo",
            "sla": {"minutes": 60, "business_hours": False},
        },
    ],
}
# ISO weeks 2026-W45..W48 begin on these Mondays
MONDAYS = [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
REPS: dict[str, list[str | None]] = {
    "east": ["a@example.com", "b@example.com", None],
    "berlin": ["c@example.com"],
}
SOURCES = ["web", "event", "ads"]


def settings_for(database_url: str) -> Settings:
    return parse_settings(
        yaml.safe_load(yaml.safe_dump(CONFIG)), "test.yml", {"DATABASE_URL": database_url}
    )


def seed(engine: Engine, settings: Settings, recorded_at: datetime) -> None:
    """Each week, each team: leads on Tuesday, some touched on time, some late, some never,
    one excluded; in Berlin one lead late on Sunday evening, still inside its day-long SLA
    on Monday morning (pending when the summary is made)."""
    leads: list[LeadInput] = []
    actions: list[ActionInput] = []
    for team, reps in REPS.items():
        tz = ZoneInfo(next(t["timezone"] for t in CONFIG["teams"] if t["name"] == team))
        for week, monday in enumerate(MONDAYS):
            for i in range(6 + week):
                handed = datetime.combine(monday + timedelta(days=1), time(10 + i), tzinfo=tz)
                ext = f"{team}-{week}-{i}"
                source = SOURCES[i % 3]
                leads.append(
                    LeadInput(
                        source, ext, handed, team, reps[i % len(reps)], None, None, None, None
                    )
                )
                kind = (i + week) % 4
                if kind == 3:
                    continue  # never touched
                at = handed + (timedelta(minutes=20) if kind == 0 else timedelta(days=2))
                reason = "duplicate" if kind == 2 else None
                actions.append(
                    ActionInput(
                        source,
                        ext,
                        at,
                        ActionKind.REJECTED if reason else ActionKind.CONTACTED,
                        None if reason else "call",
                        reps[0],
                        reason,
                        None,
                    )
                )
        sunday = datetime.combine(MONDAYS[2] - timedelta(days=1), time(22), tzinfo=tz)
        leads.append(LeadInput("web", f"{team}-sunday", sunday, team, reps[0], *[None] * 4))
    with engine.begin() as conn:
        ingest_leads(conn, settings, leads, recorded_at)
        outcome = record_actions(conn, settings, actions, recorded_at, "test")
        assert not outcome.errors

"""A team whose only place is a Microsoft Teams channel, on SQLite and PostgreSQL: its
handoffs, reminders, escalations and summaries go to Teams and nothing is queued for
Slack (where it would wait forever), the log does not claim it lacks a channel, and
`sweep --once` counts its Teams digests."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import Engine, select

from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.app.summaries import make_summary
from bot.app.sweep import sweep
from bot.cli import main
from bot.clock import FixedClock
from bot.config import Settings, parse_settings
from bot.slack.messenger import SlackMessenger, make_client
from bot.slack.people import Directory
from bot.slack.sender import slack_outbox
from storage.tables import OutboxMessage
from tests.fakes import BOT_TOKEN, fake_slack

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
HOOK = "https://example.webhook.office.com/workflows/1?sig=secret"
OUTBOX = OutboxMessage.__table__


def raw_config(**team: Any) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "teams": [
            {
                "name": "sales",
                "timezone": "UTC",
                "sla": {"minutes": 60, "business_hours": False},
                "reps": ["a@example.com"],
                "managers": ["boss@example.com"],
                "teams_webhook": "env:SALES_WEBHOOK",
                "nudges": {"heads_up_minutes": 15, "escalate_after_minutes": 30},
                **team,
            }
        ],
    }


def settings(**team: Any) -> Settings:
    return parse_settings(raw_config(**team), "test.yml", env={"SALES_WEBHOOK": HOOK})


def handoff(engine: Engine, s: Settings, owners: list[str | None]) -> list[int]:
    leads = [
        LeadInput("web", f"L{i}", NOW, "sales", owner, None, None, None, None)
        for i, owner in enumerate(owners)
    ]
    return sorted(receive_handoffs(engine, s, leads, NOW).new)


def platforms(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(OUTBOX.c.key, OUTBOX.c.platform))
        return {str(key): str(platform) for key, platform in rows}


def test_a_teams_only_team_queues_nothing_for_slack_and_warns_of_no_missing_channel(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings()
    owned, unassigned = handoff(engine, s, ["a@example.com", None])
    assert platforms(engine) == {
        f"card:{owned}:teams": "teams",
        f"card:{unassigned}:teams": "teams",
    }
    with caplog.at_level(logging.WARNING), engine.begin() as conn:
        result = sweep(conn, s, NOW + timedelta(minutes=95))  # reminders and escalations
    assert result.messages == {}
    [key] = result.teams_messages
    assert set(platforms(engine).values()) == {"teams"}
    assert key in platforms(engine)
    assert "no channel" not in caplog.text
    with engine.begin() as conn:
        queued = make_summary(conn, s, "sales", "2026-W48", NOW)
    assert queued == ["summary-teams:sales:2026-W48"]
    assert set(platforms(engine).values()) == {"teams"}


def test_a_team_with_a_slack_channel_and_teams_still_gets_both(engine: Engine) -> None:
    s = settings(slack_channel="CSALES")
    [lead] = handoff(engine, s, ["a@example.com"])
    with engine.begin() as conn:
        result = sweep(conn, s, NOW + timedelta(minutes=95))
    assert platforms(engine)[f"card:{lead}:owner"] == "slack"
    assert platforms(engine)[f"card:{lead}:teams"] == "teams"
    assert {d.audience for d in result.messages.values()} == {"rep", "manager"}
    assert len(result.teams_messages) == 1


def test_a_slack_card_queued_before_the_team_left_slack_is_parked_saying_why(
    engine: Engine,
) -> None:
    before = settings(slack_channel="CSALES")
    [lead] = handoff(engine, before, [None])
    after = settings()  # the team has since moved to Teams only
    clock = FixedClock(NOW)
    with fake_slack() as slack:
        messenger = SlackMessenger(
            make_client(BOT_TOKEN, f"{slack.url}/api/", timeout=2, interactive=False)
        )
        sender = slack_outbox(
            engine,
            after,
            messenger,
            Directory(engine, messenger, clock),
            clock=clock,
            rng=random.Random(1),
        )
        sender.run_once()
        assert slack.delivered() == {}
    with engine.connect() as conn:
        status, error = conn.execute(
            select(OUTBOX.c.status, OUTBOX.c.last_error).where(
                OUTBOX.c.key == f"card:{lead}:channel"
            )
        ).one()
    assert status == "dead"
    assert "not on Slack" in error


def test_sweep_once_counts_the_teams_digests_it_queued(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    s = settings()
    handoff(engine, s, ["a@example.com", "a@example.com"])
    config = tmp_path / "ignorerate.yml"
    config.write_text(yaml.safe_dump(raw_config()), encoding="utf-8")
    env = {
        "DATABASE_URL": database_url,
        "IGNORERATE_CONFIG": str(config),
        "SALES_WEBHOOK": HOOK,
    }
    # past the deadline and the escalation: one Teams card, and no Slack DM to rep or boss
    at = (NOW + timedelta(minutes=95)).isoformat()
    result = CliRunner().invoke(
        main, ["sweep", "--once", "--at", at], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "Teams channel of sales (2 reminders, 2 escalations)" in result.output
    assert "4 nudges, 0 reassignments, 1 messages queued" in result.output

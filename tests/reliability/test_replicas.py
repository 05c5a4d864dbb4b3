"""Three replicas on one PostgreSQL through a simulated Monday, one killed with SIGKILL
mid-way: every nudge and every weekly summary exactly once, every message delivered, and
a duplicate only where a crash made one possible, counted."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
import yaml
from sqlalchemy import func, select

from bot.app.clicks import Click, act
from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.config import parse_settings
from metrics.model import ActionKind, ContactChannel
from storage.engine import make_engine
from storage.tables import Nudge, OutboxMessage, WeeklySummary
from tests.conftest import reset
from tests.fakes import fake_slack

MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # ISO week 2026-W49
CONFIG: dict[str, Any] = {
    "timezone": "UTC",
    "locale": "ja",
    "delivery": {"per_channel_per_second": 100_000, "per_second": 100_000},
    "teams": [
        {
            "name": "london",
            "timezone": "Europe/London",
            "sla": {"minutes": 60, "business_hours": False},
            "slack_channel": "CLON",
            "managers": ["boss@example.com"],
            "reps": ["a@example.com", "b@example.com"],
            "nudges": {"escalate_after_minutes": 30},
        },
        {
            "name": "tokyo",
            "timezone": "Asia/Tokyo",
            "sla": {"minutes": 60, "business_hours": False},
            "slack_channel": "CTYO",
            "managers": ["boss2@example.com"],
            "reps": ["c@example.com"],
            "nudges": {"escalate_after_minutes": 30},
        },
    ],
}
USERS = {
    "UA": "a@example.com",
    "UB": "b@example.com",
    "UC": "c@example.com",
    "UBOSS": "boss@example.com",
    "UBOSS2": "boss2@example.com",
}


def _seed(url: str) -> int:
    """Leads through the day, a third of them answered in time; returns how many stay open."""
    engine = make_engine(url)
    reset(engine)
    settings = parse_settings(CONFIG, "test.yml", env={})
    leads = []
    for hour in range(20):
        for team, owner in (("london", "a@example.com"), ("london", "b@example.com")):
            leads.append((team, owner, hour))
        leads.append(("tokyo", "c@example.com", hour))
    inputs = [
        LeadInput("web", f"L{i}", MONDAY + timedelta(hours=h), team, owner, *[None] * 4)
        for i, (team, owner, h) in enumerate(leads)
    ]
    by_key = receive_handoffs(engine, settings, inputs, MONDAY).ids
    ids = [by_key[lead.key] for lead in inputs]  # in the order of `leads`
    answered = ids[::3]
    # last week's leads, all answered: the week the summaries report on has something
    last_week = MONDAY - timedelta(days=5)
    earlier = [
        LeadInput("web", f"W{i}", last_week, team, owner, *[None] * 4)
        for i, (team, owner) in enumerate(
            [("london", "a@example.com"), ("tokyo", "c@example.com")] * 2
        )
    ]
    earlier_ids = receive_handoffs(engine, settings, earlier, last_week).ids
    for lead in earlier:
        lead_id = earlier_ids[lead.key]
        at = last_week + timedelta(minutes=10)
        assert lead.owner_email is not None
        act(
            engine,
            settings,
            Click(
                lead_id,
                lead.owner_email,
                ActionKind.CONTACTED,
                at,
                f"w{lead_id}",
                "test",
                channel=ContactChannel.CALL,
            ),
            at,
        )
    for lead_id, (_, owner, hour) in zip(ids, leads, strict=True):
        if lead_id in answered:
            at = MONDAY + timedelta(hours=hour, minutes=20)
            act(
                engine,
                settings,
                Click(
                    lead_id,
                    owner,
                    ActionKind.CONTACTED,
                    at,
                    f"k{lead_id}",
                    "test",
                    channel=ContactChannel.CALL,
                ),
                at,
            )
    engine.dispose()
    return len(ids) - len(answered)


SPEED = 2880  # a simulated day in 30 s
# simulated seconds: 3.75 s of real time, longer than any send (drawing the first chart
# imports matplotlib, which takes about a second)
LEASE = 3 * 3600


def _replica(config: Path, url: str, slack: str, epoch: float) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 (our own test replica)
        [
            sys.executable,
            "-m",
            "tests.replica",
            "--config",
            str(config),
            "--database",
            url,
            "--slack",
            slack,
            "--start",
            MONDAY.isoformat(),
            "--minutes",
            str(24 * 60),
            "--speed",
            str(SPEED),
            "--epoch",
            str(epoch),
            "--lease-seconds",
            str(LEASE),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def _lines(stream: IO[str]) -> Iterator[str]:
    for line in stream:
        yield line.strip()


@pytest.mark.slow
def test_three_replicas_one_killed_send_every_nudge_and_summary_exactly_once(
    pg_url: str, tmp_path: Path
) -> None:
    open_leads = _seed(pg_url)
    config = tmp_path / "ignorerate.yml"
    config.write_text(yaml.safe_dump(CONFIG, allow_unicode=True), encoding="utf-8")
    with fake_slack() as slack:
        for user_id, email in USERS.items():
            slack.add_user(user_id, email)
        epoch = time.time() + 2  # all three start the simulated day together
        replicas = [_replica(config, pg_url, slack.url, epoch) for _ in range(3)]
        victim = replicas[1]
        assert victim.stdout is not None
        for line in _lines(victim.stdout):
            if line.startswith("at 2026-11-30T08"):
                break
        victim.kill()  # SIGKILL: no cleanup, whatever it was doing
        victim.wait(timeout=10)
        victim.stdout.close()
        outputs = []
        for replica in (replicas[0], replicas[2]):
            out, _ = replica.communicate(timeout=300)
            assert replica.returncode == 0
            outputs.append(out)
        assert all(out.rstrip().endswith("done") for out in outputs)

        engine = make_engine(pg_url)
        with engine.connect() as conn:
            nudges = conn.execute(
                select(Nudge.__table__.c.kind, func.count()).group_by(Nudge.__table__.c.kind)
            ).all()
            summaries = conn.execute(
                select(WeeklySummary.__table__.c.iso_week, func.count()).group_by(
                    WeeklySummary.__table__.c.iso_week
                )
            ).all()
            outbox = conn.execute(
                select(
                    OutboxMessage.__table__.c.key,
                    OutboxMessage.__table__.c.status,
                    OutboxMessage.__table__.c.redeliveries,
                )
            ).all()
        engine.dispose()

        # every open lead: one reminder at its deadline, one escalation 30 minutes on
        assert dict(nudges) == {"reminder": open_leads, "escalation": open_leads}
        # one summary per team for the week before (2026-W48), however many replicas ticked
        assert dict(summaries) == {"2026-W48": 2}
        assert {status for _, status, _ in outbox} == {"sent"}
        redelivered = sum(r for _, _, r in outbox)
        assert redelivered <= 1  # one crash: at most one claim left to expire
        delivered = slack.delivered()
        posted = {key for key, _, _ in outbox if not key.startswith("summary-chart:")}
        assert set(delivered) == posted  # every message reached Slack...
        duplicates = sum(n - 1 for n in delivered.values())
        assert duplicates <= redelivered  # ...once, but where a crash made a second possible
        uploads = slack.called("files.completeUploadExternal")
        assert 2 <= len(uploads) <= 2 + redelivered  # the two charts

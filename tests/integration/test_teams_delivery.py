"""Teams delivery through the outbox over real HTTP to a fake Workflows webhook, on SQLite
and PostgreSQL, with a fixed clock moved forward: a handoff arrives as one card whose
buttons open the bot's one-click page; a 429 is waited out without a failed try; 500s
back off and the card still arrives exactly once; a team with both gets both."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.app.summaries import make_summary
from bot.app.sweep import sweep
from bot.clock import FixedClock
from bot.config import Settings, parse_settings
from bot.links import LinkSigner
from bot.outbox.engine import Outbox
from bot.slack.messenger import SlackMessenger, make_client
from bot.slack.people import Directory
from bot.slack.sender import slack_outbox
from bot.teams.messenger import TeamsMessenger
from bot.teams.sender import teams_outbox
from storage.leads import lead_view
from storage.tables import OutboxMessage
from tests.fakes import BOT_TOKEN, FakeWorkflows, fake_slack, fake_workflows

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
BASE_URL = "https://bot.example.com"
SECRET = "a-link-secret-for-tests-only"
OUTBOX = OutboxMessage.__table__


def settings(webhook: str, **team: Any) -> Settings:
    raw = {
        "timezone": "UTC",
        "teams": [
            {
                "name": "sales",
                "timezone": "Asia/Tokyo",
                "sla": {"minutes": 60, "business_hours": False},
                "reps": ["a@example.com"],
                "managers": ["boss@example.com"],
                "teams_webhook": "env:SALES_WEBHOOK",
                "nudges": {"heads_up_minutes": 15, "escalate_after_minutes": 30},
                **team,
            }
        ],
        "delivery": {"per_channel_per_second": 100_000, "per_second": 100_000},
    }
    return parse_settings(raw, "test.yml", env={"SALES_WEBHOOK": webhook})


@dataclass
class Teams:
    engine: Engine
    hook: FakeWorkflows
    clock: FixedClock
    settings: Settings
    results: list[str]

    def sender(self) -> Outbox:
        return teams_outbox(
            self.engine,
            self.settings,
            TeamsMessenger(timeout=2),
            base_url=BASE_URL,
            signer=LinkSigner(SECRET),
            clock=self.clock,
            rng=random.Random(7),
            on_result=self.results.append,
        )

    def handoff(self, n: int = 1, owner: str | None = "a@example.com") -> list[int]:
        leads = [
            LeadInput(
                source="web",
                external_id=f"L{i}",
                handed_off_at=self.clock.now(),
                team="sales",
                owner_email=owner,
                name=f"リード {i} 🚀",
                company=None,
                email=None,
                campaign=None,
            )
            for i in range(n)
        ]
        return sorted(receive_handoffs(self.engine, self.settings, leads, self.clock.now()).new)

    def rows(self, platform: str = "teams") -> dict[str, tuple[str, int]]:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(OUTBOX.c.key, OUTBOX.c.status, OUTBOX.c.attempts).where(
                    OUTBOX.c.platform == platform
                )
            )
            return {key: (status, tries) for key, status, tries in found}


@pytest.fixture
def teams(engine: Engine) -> Iterator[Teams]:
    with fake_workflows() as hook:
        yield Teams(engine, hook, FixedClock(NOW), settings(hook.webhook()), [])


def open_urls(card: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.OpenUrl":
                found.append(node["url"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def test_a_handoff_arrives_as_one_card_with_a_link_to_the_bots_one_click_page(
    teams: Teams,
) -> None:
    [lead_id] = teams.handoff()
    assert teams.rows() == {f"card:{lead_id}:teams": ("pending", 0)}
    assert teams.sender().run_once() == 1
    assert len(teams.hook.received) == 1
    envelope = teams.hook.received[0]
    assert envelope["type"] == "message"
    card = envelope["attachments"][0]["content"]
    assert card["version"] == "1.4"
    urls = open_urls(card)
    assert urls
    assert all(u.startswith(f"{BASE_URL}/ack/") for u in urls)
    data = LinkSigner(SECRET).verify("ack", urls[0].rsplit("/", 1)[1], teams.clock.now())
    assert data["l"] == lead_id
    with teams.engine.connect() as conn:
        lead = lead_view(conn, lead_id)
    assert lead is not None
    assert lead.owner is not None
    assert data["r"] == lead.owner.id  # the link names the rep it is meant for, by id
    assert "リード 0 🚀" in json.dumps(card, ensure_ascii=False)
    assert teams.rows() == {f"card:{lead_id}:teams": ("sent", 1)}
    # nothing more to send, and the row's target is the team, never the webhook's secret
    assert teams.sender().run_once() == 0
    with teams.engine.connect() as conn:
        targets = set(conn.execute(select(OUTBOX.c.target)).scalars())
    assert not any("sig=" in target for target in targets)


def test_a_429_is_waited_out_and_not_counted_as_a_try(teams: Teams) -> None:
    [lead_id] = teams.handoff()
    teams.hook.fail("429", times=1, retry_after=30)
    sender = teams.sender()
    assert sender.run_once() == 0
    assert teams.rows() == {f"card:{lead_id}:teams": ("pending", 0)}
    assert teams.results == ["rate_limited"]
    teams.clock.advance(timedelta(seconds=29))
    assert sender.run_once() == 0  # still inside Retry-After: not even asked
    assert teams.hook.attempts == 1
    teams.clock.advance(timedelta(seconds=1))
    assert sender.run_once() == 1
    assert teams.rows() == {f"card:{lead_id}:teams": ("sent", 1)}
    assert len(teams.hook.received) == 1


def test_500s_back_off_then_the_card_arrives_exactly_once(teams: Teams) -> None:
    [lead_id] = teams.handoff()
    teams.hook.fail("500", times=3)
    sender = teams.sender()
    for tries in (1, 2, 3):
        sender.run_once()
        assert teams.rows() == {f"card:{lead_id}:teams": ("pending", tries)}
        assert sender.run_once() == 0  # backing off: not due yet
        teams.clock.advance(timedelta(minutes=10))
    assert sender.run_once() == 1
    assert teams.rows() == {f"card:{lead_id}:teams": ("sent", 4)}
    assert len(teams.hook.received) == 1
    assert teams.hook.attempts == 4
    assert teams.results == ["retry", "retry", "retry", "sent"]


def test_an_unreachable_webhook_is_retried_and_its_secret_kept_out_of_the_error(
    engine: Engine,
) -> None:
    clock = FixedClock(NOW)
    hook = "http://127.0.0.1:1/workflows/x?sig=very-secret-signature"
    dead = Teams(engine, FakeWorkflows(), clock, settings(hook), [])
    dead.handoff()
    dead.sender().run_once()
    with engine.connect() as conn:
        status, tries, error = conn.execute(
            select(OUTBOX.c.status, OUTBOX.c.attempts, OUTBOX.c.last_error).where(
                OUTBOX.c.platform == "teams"
            )
        ).one()
    assert (status, tries) == ("pending", 1)
    assert "127.0.0.1:1" in error
    assert "very-secret-signature" not in error


def test_a_team_with_both_slack_and_teams_gets_both(engine: Engine) -> None:
    with fake_workflows() as hook, fake_slack() as slack:
        s = settings(hook.webhook(), slack_channel="CSALES")
        teams = Teams(engine, hook, FixedClock(NOW), s, [])
        [lead_id] = teams.handoff(owner=None)  # unassigned: Slack posts it in the channel
        messenger = SlackMessenger(
            make_client(BOT_TOKEN, f"{slack.url}/api/", timeout=2, interactive=False)
        )
        slack_sender = slack_outbox(
            engine, s, messenger, Directory(engine, messenger, teams.clock), clock=teams.clock
        )
        assert slack_sender.run_once() == 1
        assert teams.sender().run_once() == 1
        assert slack.delivered() == {f"card:{lead_id}:channel": 1}
        assert len(hook.received) == 1
        assert teams.rows("slack") == {f"card:{lead_id}:channel": ("sent", 1)}
        assert teams.rows() == {f"card:{lead_id}:teams": ("sent", 1)}


def test_the_sweep_sends_one_digest_card_to_the_channel_naming_escalations(
    teams: Teams,
) -> None:
    ids = teams.handoff(n=3)
    teams.sender().run_once()  # the three lead cards
    teams.hook.received.clear()
    teams.clock.advance(timedelta(minutes=95))  # past the deadline and the escalation
    with teams.engine.begin() as conn:
        result = sweep(conn, teams.settings, teams.clock.now())
    [key] = result.teams_messages
    assert key.startswith("digest:teams:sales:")
    assert teams.sender().run_once() == 1
    [card] = teams.hook.cards()
    body = json.dumps(card, ensure_ascii=False)
    assert "3 leads in sales" in body
    assert "Escalat" in body
    assert "held by a@example.com" in body
    assert len(open_urls(card)) == len(ids)


def test_the_weekly_summary_goes_to_teams_with_a_signed_chart_image(teams: Teams) -> None:
    teams.handoff(n=2)
    teams.sender().run_once()
    teams.hook.received.clear()
    with teams.engine.begin() as conn:
        queued = make_summary(conn, teams.settings, "sales", "2026-W48", teams.clock.now())
    assert queued == ["summary-teams:sales:2026-W48"]  # no Slack channel: Teams only
    assert teams.sender().run_once() == 1
    [card] = teams.hook.cards()
    [image] = [e for e in card["body"] if e["type"] == "Image"]
    assert image["url"].startswith(f"{BASE_URL}/charts/")
    token = image["url"].removeprefix(f"{BASE_URL}/charts/").removesuffix(".png")
    data = LinkSigner(SECRET).verify("chart", token, teams.clock.now())
    assert data["w"] == "2026-W48"
    assert "Weekly summary: sales, 2026-W48" in json.dumps(card, ensure_ascii=False)

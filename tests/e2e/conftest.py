"""The running bot over real HTTP: uvicorn serving `build_service(...)`, its Web API
client pointed at a local fake Slack, every request signed as Slack signs it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import yaml
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine, func, select

from bot.clock import FixedClock
from bot.config import Settings, parse_settings, read_environment
from bot.scheduler import Ticker, TickResult
from bot.serve import Service, build_service, default_jobs
from storage.engine import make_engine
from storage.tables import OutboxMessage
from tests.fake_oidc import FakeOidc, fake_oidc
from tests.fakes import BOT_TOKEN, FakeSlack, fake_slack, serve

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "slack"
SIGNING_SECRET = "signing-secret-for-tests"
WEBHOOK_SECRET = "webhook-secret-for-tests"
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 12:00 in Tokyo

CONFIG = {
    "timezone": "Asia/Tokyo",
    "locale": "en",
    "admins": ["revops@example.com"],
    "teams": [
        {
            "name": "enterprise",
            "timezone": "Asia/Tokyo",
            "sla": {"minutes": 60, "business_hours": False},
            "slack_channel": "CTEAM",
            "managers": ["boss@example.com"],
            "reps": ["a@example.com", "b@example.com"],
            "handoff_channels": [
                {
                    "channel": "CHAND",
                    "source": "form",
                    "pattern": r"New lead (?P<external_id>\S+) for (?P<owner_email>\S+)",
                },
                {"channel": "CMETA", "source": "workflow"},
            ],
        },
        {
            "name": "smb",
            "timezone": "America/New_York",
            "sla": {"minutes": 1440, "business_hours": False},
            "slack_channel": "CSMB",
            "managers": ["smbboss@example.com"],
            "reps": ["c@example.com"],
        },
    ],
}

USERS = {
    "UA": "a@example.com",
    "UB": "b@example.com",
    "UC": "c@example.com",
    "UBOSS": "boss@example.com",
    "UADMIN": "revops@example.com",
    "USTRANGER": "stranger@example.com",
}


def slack_payload(name: str) -> str:
    """A request body as Slack sends it, from tests/fixtures/slack (see its README)."""
    return (PAYLOADS / name).read_text(encoding="utf-8")


def sign_webhook(body: bytes, timestamp: int, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Ignorerate-Timestamp": str(timestamp),
        "X-Ignorerate-Signature": f"v0={digest}",
        "Content-Type": "application/json",
    }


@dataclass
class Bot:
    url: str
    service: Service
    slack: FakeSlack
    clock: FixedClock
    engine: Engine
    http: httpx.Client
    settings: Settings

    def tick(self) -> TickResult:
        """One scheduler tick at the bot's clock, as `serve` runs every minute."""
        assert self.service.worker is not None
        ticker = Ticker(
            self.engine,
            self.settings,
            self.clock,
            jobs=default_jobs(),
            on_queued=self.service.worker.wake,
        )
        result = ticker.tick()
        assert result is not None
        return result

    def wait_sent(self, count: int, timeout: float = 10) -> None:
        table = OutboxMessage.__table__
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                sent = conn.execute(
                    select(func.count()).select_from(table).where(table.c.status == "sent")
                ).scalar_one()
            if sent >= count:
                return
            time.sleep(0.02)
        raise AssertionError(f"{sent} outbox messages sent, wanted {count}")

    def wait_card(self, lead_id: int, timeout: float = 10) -> None:
        """Until a card of the lead is marked sent (so a click can find it to update)."""
        table = OutboxMessage.__table__
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                sent = conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.key.like(f"card:{lead_id}:%"), table.c.status == "sent")
                ).scalar_one()
            if sent:
                return
            time.sleep(0.02)
        raise AssertionError(f"no card of lead {lead_id} was sent")

    def wait_retrying(self, attempts: int = 1, timeout: float = 10) -> None:
        """Until some outbox message has failed `attempts` times and waits for its next."""
        table = OutboxMessage.__table__
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                failed = conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.status == "pending", table.c.attempts >= attempts)
                ).scalar_one()
            if failed:
                return
            time.sleep(0.02)
        raise AssertionError("no outbox message failed")

    # ------------------------------------------------------------ doors

    def handoff(
        self,
        payload: Any,
        *,
        timestamp: int | None = None,
        secret: str = WEBHOOK_SECRET,
        raw: bytes | None = None,
    ) -> httpx.Response:
        return self.hook("handoff", payload, timestamp=timestamp, secret=secret, raw=raw)

    def action(
        self,
        payload: Any,
        *,
        timestamp: int | None = None,
        secret: str = WEBHOOK_SECRET,
        raw: bytes | None = None,
    ) -> httpx.Response:
        """POST /hooks/action, signed (one action object, or {"actions": [...]})."""
        return self.hook("action", payload, timestamp=timestamp, secret=secret, raw=raw)

    def hook(
        self,
        door: str,
        payload: Any,
        *,
        timestamp: int | None = None,
        secret: str = WEBHOOK_SECRET,
        raw: bytes | None = None,
    ) -> httpx.Response:
        """POST /hooks/<door>, signed with `secret` at `timestamp` (the bot's clock)."""
        body = raw if raw is not None else json.dumps(payload).encode()
        ts = int(self.clock.now().timestamp()) if timestamp is None else timestamp
        return self.http.post(
            f"{self.url}/hooks/{door}", content=body, headers=sign_webhook(body, ts, secret)
        )

    def with_token(self, door: str, payload: Any, token: str) -> httpx.Response:
        """POST /hooks/<door> with `Authorization: Bearer <token>` and no signature."""
        return self.http.post(
            f"{self.url}/hooks/{door}",
            content=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )

    def slack_post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = str(SignatureVerifier(secret).generate_signature(timestamp=ts, body=body))
        return self.http.post(
            f"{self.url}/slack/events",
            content=body.encode(),
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature,
                **(headers or {}),
            },
        )

    def interact(self, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)})
        return self.slack_post(body, "application/x-www-form-urlencoded", **kwargs)

    def command(
        self,
        user: str,
        text: str,
        channel: str = "CELSEWHERE",
        fields_too: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        fields = dict(parse_qsl(slack_payload("slash_command.txt")))
        fields.update(fields_too or {})
        fields.update(
            {
                "command": "/ignorerate",
                "text": text,
                "user_id": user,
                "channel_id": channel,
                "response_url": f"{self.slack.url}/response/commands/{len(self.slack.responses)}",
            }
        )
        return self.slack_post(urlencode(fields), "application/x-www-form-urlencoded", **kwargs)

    def event(self, event: dict[str, Any], event_id: str, **kwargs: Any) -> httpx.Response:
        envelope = json.loads(slack_payload("event_callback.json"))
        envelope["event"] = event
        envelope["event_id"] = event_id
        return self.slack_post(json.dumps(envelope), "application/json", **kwargs)

    # ------------------------------------------------------------ payloads

    def click_payload(
        self,
        user: str,
        action_id: str,
        *,
        value: str | None = None,
        channel: str = "DUA",
        ts: str = "1800000000.000001",
        action_ts: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(slack_payload("block_actions.json"))
        payload["user"] = {"id": user, "username": user.lower(), "team_id": payload["team"]["id"]}
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel, "name": "dm"}
        payload["response_url"] = f"{self.slack.url}/response/actions"
        action = dict(payload["actions"][0])
        action.update(
            {
                "action_id": action_id,
                "block_id": f"lead:{value}:contact",
                "action_ts": action_ts or f"{time.time():.6f}",
            }
        )
        if value is not None:
            action["value"] = value
        action.update(extra or {})
        payload["actions"] = [action]
        return payload


@pytest.fixture
def bot(database_url: str) -> Iterator[Bot]:
    with running_bot(database_url) as running:
        yield running


@contextmanager
def running_bot(
    database_url: str,
    env_extra: dict[str, str] | None = None,
    scheduler_interval: float | None = None,
    **overrides: Any,
) -> Iterator[Bot]:
    config = {**json.loads(json.dumps(CONFIG)), **overrides}
    settings = parse_settings(
        yaml.safe_load(yaml.safe_dump(config)),
        "test.yml",
        {"DATABASE_URL": database_url, **(env_extra or {})},
    )
    clock = FixedClock(NOW)
    with fake_slack() as slack:
        for user_id, email in USERS.items():
            slack.add_user(user_id, email)
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "IGNORERATE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SLACK_API_URL": f"{slack.url}/api/",
            **(env_extra or {}),
        }
        service = build_service(
            settings,
            read_environment(env),
            clock,
            outbox_interval=0.1,
            scheduler_interval=scheduler_interval,
        )
        service.start()
        engine = make_engine(database_url)
        try:
            with serve(service.app) as url, httpx.Client(timeout=10) as http:
                yield Bot(url, service, slack, clock, engine, http, settings)
        finally:
            service.stop()
            engine.dispose()


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeOidc]:
    """A local OpenID Connect provider for the dashboard's sign-in (tests/fake_oidc.py)."""
    with fake_oidc() as fake:
        yield fake

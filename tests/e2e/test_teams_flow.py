"""A Teams team end to end through the running service, Slack off: a signed handoff
becomes a card in the channel, its one-click link records "Contacted" as a Slack click
would, and a manager's @mention gets the rate back as a card."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select

from bot.clock import FixedClock
from bot.config import parse_settings, read_environment
from bot.serve import build_service
from bot.teams.outgoing import signature
from storage.tables import Action
from tests.e2e.conftest import WEBHOOK_SECRET, sign_webhook
from tests.fakes import fake_workflows, serve

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
BASE = "https://bot.example.com"
OUTGOING = base64.b64encode(b"an-outgoing-webhook-secret").decode()
CHANNEL = "19:sales@thread.tacv2"


def open_urls(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["url"]] if node.get("type") == "Action.OpenUrl" else []
        return found + [u for v in node.values() for u in open_urls(v)]
    if isinstance(node, list):
        return [u for v in node for u in open_urls(v)]
    return []


def test_a_teams_handoff_is_carded_clicked_and_reported(engine: Engine, database_url: str) -> None:
    with fake_workflows() as hook:
        settings = parse_settings(
            {
                "timezone": "Asia/Tokyo",
                "locale": "ja",
                "teams": [
                    {
                        "name": "sales",
                        "sla": {"minutes": 60, "business_hours": False},
                        "reps": ["a@example.com"],
                        "teams_webhook": hook.webhook(),
                        "teams_channel": CHANNEL,
                    }
                ],
            },
            "test.yml",
            env={"DATABASE_URL": database_url},
        )
        env = {
            "PUBLIC_BASE_URL": BASE,
            "IGNORERATE_LINK_SECRET": "a-link-secret-for-tests-only",
            "IGNORERATE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TEAMS_OUTGOING_SECRET": OUTGOING,
        }
        clock = FixedClock(NOW)
        service = build_service(
            settings, read_environment(env), clock, 0.05, scheduler_interval=None
        )
        service.start()
        try:
            with serve(service.app) as url, httpx.Client(timeout=10) as http:
                body = json.dumps(
                    {
                        "source": "webinar",
                        "external_id": "T-1",
                        "handed_off_at": (NOW - timedelta(minutes=10)).isoformat(),
                        "team": "sales",
                        "owner_email": "a@example.com",
                        "name": "山田 花子",
                    }
                ).encode()
                sent = http.post(
                    f"{url}/hooks/handoff",
                    content=body,
                    headers=sign_webhook(body, int(NOW.timestamp())),
                )
                assert sent.status_code == 202, sent.text
                deadline = time.monotonic() + 10
                while not hook.received and time.monotonic() < deadline:
                    time.sleep(0.02)
                (envelope,) = hook.received
                (link,) = set(open_urls(envelope))
                assert link.startswith(f"{BASE}/ack/")
                page_url = url + link.removeprefix(BASE)

                page = http.get(page_url)
                assert page.status_code == 200
                assert "山田 花子" in page.text
                csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
                assert csrf is not None
                done = http.post(page_url, data={"csrf": csrf[1], "choice": "contacted:call"})
                assert done.status_code == 200
                with engine.connect() as conn:
                    kinds = conn.execute(
                        select(Action.__table__.c.kind, Action.__table__.c.via)
                    ).all()
                assert [tuple(k) for k in kinds] == [("contacted", "teams")]

                ask = json.dumps(
                    {
                        "type": "message",
                        "text": "<at>IgnoreRate</at> 今週",
                        "conversation": {"id": f"{CHANNEL};messageid=1"},
                    }
                ).encode()
                answer = http.post(
                    f"{url}/teams/outgoing",
                    content=ask,
                    headers={"Authorization": f"HMAC {signature(OUTGOING, ask)}"},
                )
                assert answer.status_code == 200
                card = json.dumps(answer.json()["attachments"][0]["content"], ensure_ascii=False)
                assert "sales" in card
                forged = http.post(
                    f"{url}/teams/outgoing", content=ask, headers={"Authorization": "HMAC x"}
                )
                assert forged.status_code == 401
        finally:
            service.stop()

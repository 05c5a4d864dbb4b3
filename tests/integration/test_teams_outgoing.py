"""`@IgnoreRate last-month` in a Teams channel: signed like Teams signs, answered with a card
for the channel's team; forged, bad input and other teams get nothing but words."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import Route

from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.clock import FixedClock
from bot.config import parse_settings
from bot.http.prometheus import Metrics
from bot.teams.outgoing import OutgoingDoor, command_text, signature
from tests.fakes import serve

SECRET = base64.b64encode(b"teams-outgoing-secret-for-tests").decode()
CHANNEL = "19:abc123@thread.tacv2"
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
CONFIG: dict[str, Any] = {
    "timezone": "Asia/Tokyo",
    "locale": "en",
    "teams": [
        {
            "name": "enterprise",
            "timezone": "Asia/Tokyo",
            "sla": {"minutes": 60, "business_hours": False},
            "reps": ["a@example.com"],
            "teams_channel": CHANNEL,
        },
        {"name": "smb", "sla": {"minutes": 60}, "reps": ["c@example.com"]},
    ],
}


def activity(text: str, channel: str = CHANNEL) -> bytes:
    return json.dumps(
        {
            "type": "message",
            "text": text,
            "from": {"id": "29:1", "name": "Boss", "aadObjectId": "00000000-0000-0000-0000-1"},
            "conversation": {"id": f"{channel};messageid=1700000000000"},
        }
    ).encode()


DASHBOARD = "https://ignorerate.example.com/"


@pytest.fixture
def ask(engine: Engine) -> Iterator[Any]:
    settings = parse_settings(CONFIG, "test.yml", env={})
    handed = NOW - timedelta(days=2)
    leads = [
        LeadInput("web", f"T{i}", handed, "enterprise", "a@example.com", *[None] * 4)
        for i in range(4)
    ]
    receive_handoffs(engine, settings, leads, handed)
    door = OutgoingDoor(
        engine, settings, SECRET, FixedClock(NOW), Metrics(), dashboard_url=DASHBOARD
    )
    app = Starlette(routes=[Route("/teams/outgoing", door.handle, methods=["POST"])])
    with serve(app) as url, httpx.Client(timeout=10) as http:

        def post(body: bytes, auth: str | None = None) -> httpx.Response:
            header = auth if auth is not None else f"HMAC {signature(SECRET, body)}"
            return http.post(
                f"{url}/teams/outgoing",
                content=body,
                headers={"Authorization": header, "Content-Type": "application/json"},
            )

        yield post


def test_a_signed_mention_is_answered_with_a_card_for_the_channels_team(ask: Any) -> None:
    answer = ask(activity("<at>IgnoreRate</at>&nbsp;last-7-days by:rep"))
    assert answer.status_code == 200
    (attachment,) = answer.json()["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = json.dumps(attachment["content"], ensure_ascii=False)
    assert attachment["content"]["version"] == "1.4"
    assert "enterprise" in card
    assert "100" in card  # four leads, none touched, all past the SLA: 100 % ignored
    assert "a@example.com" in card  # the per-rep breakdown asked for


@pytest.mark.one_backend
def test_a_forged_or_unsigned_mention_is_refused(ask: Any) -> None:
    body = activity("<at>IgnoreRate</at> last-month")
    assert (
        ask(body, auth="HMAC " + signature(base64.b64encode(b"x").decode(), body)).status_code
        == 401
    )
    assert ask(body, auth="").status_code == 401
    assert ask(body + b" ", auth=f"HMAC {signature(SECRET, body)}").status_code == 401


@pytest.mark.one_backend
def test_a_bad_period_gets_the_accepted_forms_and_usage(ask: Any) -> None:
    answer = ask(activity("<at>IgnoreRate</at> someday"))
    assert answer.status_code == 200
    text = answer.json()["text"]
    assert 'I can\'t read the period "someday"' in text
    assert "last-month" in text
    assert "Usage" in text


@pytest.mark.one_backend
def test_a_period_outside_the_supported_days_is_answered_with_the_range(ask: Any) -> None:
    answer = ask(activity("<at>IgnoreRate</at> 0001"))
    assert answer.status_code == 200
    text = answer.json()["text"]
    assert 'I can\'t read the period "0001" (outside the supported days' in text
    assert "A period lies between 1970-01-01 and 2099-12-31." in text


@pytest.mark.one_backend
def test_another_team_or_an_unknown_channel_is_refused_in_words(ask: Any) -> None:
    other = ask(activity("<at>IgnoreRate</at> last-month team:smb")).json()
    assert "own team only" in other["text"]
    everyone = ask(activity("<at>IgnoreRate</at> last-month team:all")).json()
    assert "admins" in everyone["text"]
    stranger = ask(activity("<at>IgnoreRate</at> last-month", channel="19:other@thread")).json()
    assert "not a team's channel" in stranger["text"]


@pytest.mark.one_backend
def test_dashboard_answers_with_its_link(ask: Any) -> None:
    answer = ask(activity("<at>IgnoreRate</at> dashboard")).json()["text"]
    assert answer == f"The dashboard: {DASHBOARD}"


def test_help_and_japanese_periods(ask: Any) -> None:
    assert "Usage" in ask(activity("<at>IgnoreRate</at> help")).json()["text"]
    assert ask(activity("<at>IgnoreRate</at> 先月")).json()["attachments"]


def test_the_mention_and_teams_html_are_stripped_from_the_command() -> None:
    assert command_text("<at>IgnoreRate</at>&nbsp;last-month <b>by:rep</b>\n") == (
        "last-month by:rep"
    )

"""IGNORERATE_WEBHOOK_TOKEN: both webhooks also take `Authorization: Bearer <token>`, for
the tools that can send a fixed header but cannot sign. A wrong token records nothing;
a request sent again records nothing new (leads and actions are keyed)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Bot, running_bot, sign_webhook
from tests.e2e.test_action_webhook import action, count_actions
from tests.e2e.test_thin_path import lead
from tests.e2e.test_webhook import count_leads
from tests.security.conftest import census

TOKEN = "webhook-token-for-tests-0123456789"


def post(bot: Bot, door: str, payload: Any, authorization: str) -> httpx.Response:
    return bot.http.post(
        f"{bot.url}/hooks/{door}",
        content=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": authorization},
    )


def test_the_bearer_token_opens_both_doors_and_a_replay_records_nothing_new(
    database_url: str,
) -> None:
    with running_bot(database_url, env_extra={"IGNORERATE_WEBHOOK_TOKEN": TOKEN}) as bot:
        handoff = bot.with_token("handoff", {"leads": [lead("T-1"), lead("T-2")]}, TOKEN)
        assert handoff.status_code == 202, handoff.text
        assert [a["new"] for a in handoff.json()["accepted"]] == [True, True]
        first = bot.with_token("action", action("T-1"), TOKEN)
        assert first.status_code == 202, first.text
        (accepted,) = first.json()["accepted"]
        assert accepted["new"] is True
        # a captured request sent again, as the token allows forever: nothing new
        again = bot.with_token("handoff", {"leads": [lead("T-1"), lead("T-2")]}, TOKEN)
        assert [a["new"] for a in again.json()["accepted"]] == [False, False]
        replay = bot.with_token("action", action("T-1"), TOKEN)
        assert replay.json()["accepted"] == [{**accepted, "new": False}]
        assert (count_leads(bot), count_actions(bot)) == (2, 1)
        # the signature still works beside it
        assert bot.action(action("T-2")).status_code == 202
        assert count_actions(bot) == 2


@pytest.mark.one_backend
def test_a_wrong_token_is_refused_401_and_records_nothing(database_url: str) -> None:
    with running_bot(database_url, env_extra={"IGNORERATE_WEBHOOK_TOKEN": TOKEN}) as bot:
        assert bot.handoff(lead("W-1")).status_code == 202
        before = census(bot.engine)
        wrong = [f"Bearer {t}" for t in (TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "x" * 200)]
        for door, payload in (("handoff", lead("W-2")), ("action", action("W-1"))):
            for authorization in [*wrong, "Bearer"]:
                answer = post(bot, door, payload, authorization)
                assert answer.status_code == 401, (door, authorization)
                assert answer.json()["error"].startswith("wrong bearer token: send Authorization")
                assert answer.headers["www-authenticate"].startswith("Bearer")
                assert TOKEN not in answer.text
            # another scheme, or the token without its scheme, is no token
            for authorization in (f"Basic {TOKEN}", TOKEN):
                answer = post(bot, door, payload, authorization)
                assert answer.status_code == 401, (door, authorization)
                assert "or send Authorization: Bearer" in answer.json()["error"]
        # a wrong token beside a forged signature is no better
        raw = json.dumps(action("W-1")).encode()
        forged = {
            **sign_webhook(raw, int(bot.clock.now().timestamp()), "not-the-secret"),
            "Authorization": "Bearer not-the-token-at-all",
        }
        answer = bot.http.post(f"{bot.url}/hooks/action", content=raw, headers=forged)
        assert answer.status_code == 401
        assert census(bot.engine) == before
        text = bot.http.get(f"{bot.url}/metrics").text
        assert 'ignorerate_rejected_requests_total{door="webhook",reason="bad_token"} 5.0' in text
        assert (
            'ignorerate_rejected_requests_total{door="action_webhook",reason="bad_token"} 6.0'
            in text
        )


@pytest.mark.one_backend
def test_with_the_token_alone_the_doors_take_the_token_and_no_signature(
    database_url: str,
) -> None:
    env = {"IGNORERATE_WEBHOOK_SECRET": "", "IGNORERATE_WEBHOOK_TOKEN": TOKEN}
    with running_bot(database_url, env_extra=env) as bot:
        before = census(bot.engine)
        for door, payload in (("handoff", lead("O-1")), ("action", action("O-1"))):
            signed = bot.hook(door, payload)
            assert signed.status_code == 401, door
            assert signed.json()["error"] == (
                "missing bearer token: send Authorization: Bearer <IGNORERATE_WEBHOOK_TOKEN> "
                "(signatures are not checked here: IGNORERATE_WEBHOOK_SECRET is not set)"
            )
        assert census(bot.engine) == before
        assert bot.with_token("handoff", lead("O-1"), TOKEN).status_code == 202
        assert bot.with_token("action", action("O-1"), TOKEN).status_code == 202
        assert (count_leads(bot), count_actions(bot)) == (1, 1)


@pytest.mark.one_backend
def test_with_neither_secret_nor_token_both_doors_are_off(database_url: str) -> None:
    with running_bot(database_url, env_extra={"IGNORERATE_WEBHOOK_SECRET": ""}) as bot:
        before = census(bot.engine)
        for door, payload in (("handoff", lead("N-1")), ("action", action("N-1"))):
            for answer in (bot.hook(door, payload), bot.with_token(door, payload, TOKEN)):
                assert answer.status_code == 503, door
                assert answer.json()["error"].endswith(
                    "is off: neither IGNORERATE_WEBHOOK_SECRET nor IGNORERATE_WEBHOOK_TOKEN is set"
                )
        assert census(bot.engine) == before

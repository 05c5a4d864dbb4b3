"""Leads left untouched past their SLA chase their rep, then the managers, through the
running bot: one digest a person, buttons that work from it, and the digest amended.
The leads are handed off 30 minutes before the bot's clock starts; the SLA is 60 minutes."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from storage.tables import OutboxMessage
from tests.e2e.conftest import Bot
from tests.e2e.test_clicks import actions, new_lead


def digest_to(bot: Bot, key_prefix: str) -> dict[str, Any]:
    """The message Slack took for the digest whose outbox key starts so (waiting for it:
    the outbox paces a channel to about a message a second)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for params in list(bot.slack.posted):
            meta = params.get("metadata")
            meta = json.loads(meta) if isinstance(meta, str) else meta
            key = str(((meta or {}).get("event_payload") or {}).get("key", ""))
            if key.startswith(key_prefix):
                found: dict[str, Any] = dict(params)
                if isinstance(found.get("blocks"), str):
                    found["blocks"] = json.loads(found["blocks"])
                return found
        time.sleep(0.02)
    seen = [p.get("metadata") for p in bot.slack.posted]
    raise AssertionError(f"no message for {key_prefix} among {seen}")


def sent_ts(bot: Bot, key_prefix: str) -> str:
    table = OutboxMessage.__table__
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with bot.engine.connect() as conn:
            ref = conn.execute(
                select(table.c.external_ref).where(
                    table.c.key.like(f"{key_prefix}%"), table.c.status == "sent"
                )
            ).scalar()
        if ref:
            return str(ref).partition("/")[2]
        time.sleep(0.02)
    raise AssertionError(f"{key_prefix} was not marked sent")


def posts_to(bot: Bot, channel: str) -> int:
    return sum(1 for p in bot.slack.posted if p["channel"] in (channel, "U" + channel[1:]))


def test_leads_left_untouched_reach_their_rep_as_one_digest_with_buttons(bot: Bot) -> None:
    ids = [new_lead(bot, f"N-{i}") for i in range(3)]
    bot.clock.advance(timedelta(minutes=29))
    assert bot.tick().sweep.decisions == []  # nothing before the deadline
    bot.clock.advance(timedelta(minutes=1))
    result = bot.tick()
    assert {(d.lead_id, d.stage.value) for d in result.sweep.decisions} == {
        (i, "reminder") for i in ids
    }
    digest = digest_to(bot, "digest:rep:a@example.com")
    assert digest["channel"] == "DA"  # the DM channel remembered from the cards
    blocks = digest["blocks"]
    assert "3 of your leads need a first touch" in blocks[0]["text"]["text"]
    buttons = [b for b in blocks if b["type"] == "actions"]
    assert [b["block_id"] for b in buttons] == [f"digest:{i}" for i in ids]
    assert buttons[0]["elements"][0]["action_id"] == "lead.contacted.call"
    # to the rep: the three cards and one digest, never one reminder message per lead
    assert posts_to(bot, "DA") == 4


def test_a_click_in_a_digest_records_it_and_amends_only_that_line(bot: Bot) -> None:
    first, second = (new_lead(bot, f"D-{i}") for i in range(2))
    bot.clock.advance(timedelta(minutes=31))
    bot.tick()
    digest = digest_to(bot, "digest:rep:a@example.com")
    ts = sent_ts(bot, "digest:rep:a@example.com")
    payload = bot.click_payload(
        "UA",
        "lead.contacted.email",
        value=str(first),
        channel=digest["channel"],
        ts=ts,
        extra={"block_id": f"digest:{first}"},
    )
    payload["message"] = {"text": digest["text"], "blocks": digest["blocks"]}
    assert bot.interact(payload).status_code == 200
    bot.slack.wait_for("chat.update", count=2)  # the digest, and the lead's own card
    (update,) = [u for u in bot.slack.called("chat.update") if u["ts"] == ts]
    amended = (
        json.loads(update["blocks"]) if isinstance(update["blocks"], str) else update["blocks"]
    )
    ids = [b.get("block_id") for b in amended]
    assert f"digest:{first}" not in ids  # its buttons gave way to what happened
    assert f"digest:{second}" in ids  # the other lead keeps its buttons
    assert any(b["type"] == "context" and "Email" in json.dumps(b) for b in amended), amended
    assert [(a["kind"], a["channel"], a["actor"]) for a in actions(bot)] == [
        ("contacted", "email", "a@example.com")
    ]
    # the lead's own card is brought up to date too, and the digest was not replaced by it
    assert all(
        u["ts"] != "1800000000.000003" or u is update for u in bot.slack.called("chat.update")
    )


def test_managers_hear_of_leads_still_untouched_after_the_escalation_delay(bot: Bot) -> None:
    ids = [new_lead(bot, f"E-{i}") for i in range(2)]
    bot.clock.advance(timedelta(minutes=30))
    bot.tick()
    bot.clock.advance(timedelta(minutes=60))  # the default escalation delay
    result = bot.tick()
    assert {(d.lead_id, d.stage.value) for d in result.sweep.decisions} == {
        (i, "escalation") for i in ids
    }
    digest = digest_to(bot, "digest:manager:boss@example.com")
    assert digest["channel"] == "UBOSS"
    text = json.dumps(digest["blocks"], ensure_ascii=False)
    assert "2 leads in enterprise are past their SLA with no first touch" in text
    assert "held by <@UA>" in text


def test_an_owner_who_acted_before_the_deadline_hears_nothing(bot: Bot) -> None:
    lead_id = new_lead(bot, "Q-1")
    click = bot.click_payload("UA", "lead.contacted.call", value=str(lead_id))
    assert bot.interact(click).status_code == 200
    bot.slack.wait_for("chat.update")
    bot.clock.advance(timedelta(hours=5))
    assert bot.tick().sweep.decisions == []

"""Handoff in, card to the rep, click Contacted, card updated, rate answered."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.tables import Action, Lead
from tests.e2e.conftest import NOW, Bot


def lead(external_id: str, owner: str | None = "a@example.com", **extra: str) -> dict[str, str]:
    fields = {
        "source": "webinar",
        "external_id": external_id,
        "handed_off_at": (NOW - timedelta(minutes=30)).isoformat(),
        "team": "enterprise",
        "name": "Hanako Yamada",
        "company": "Example KK",
        **extra,
    }
    if owner:
        fields["owner_email"] = owner
    return fields


def test_handoff_card_click_and_report_end_to_end(bot: Bot) -> None:
    answer = bot.handoff(lead("L-1"))
    assert answer.status_code == 202, answer.text
    (accepted,) = answer.json()["accepted"]
    assert accepted["new"] is True
    lead_id = accepted["id"]

    # the card goes to the owner's DM, found by email
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert post["channel"] == "UA"
    assert "Hanako Yamada" in str(post["blocks"])
    assert {"lookup": bot.slack.called("users.lookupByEmail")[0]["email"]} == {
        "lookup": "a@example.com"
    }

    bot.clock.advance(timedelta(minutes=12))
    click = bot.click_payload("UA", "lead.contacted.call", value=str(lead_id), channel="DA")
    assert bot.interact(click).status_code == 200
    (update,) = bot.slack.wait_for("chat.update")
    assert "Contacted by <@UA>, Call, 42 min after handoff, within SLA" in str(update["blocks"])

    with bot.engine.connect() as conn:
        action = conn.execute(select(Action.__table__)).one()._mapping
        row = conn.execute(select(Lead.__table__)).one()._mapping
    assert (action["kind"], action["channel"], action["via"]) == ("contacted", "call", "slack")
    assert action["at"] == NOW + timedelta(minutes=12)
    assert row["first_action_kind"] == "contacted"

    assert bot.command("UBOSS", "this-week").status_code == 200
    (reply,) = bot.slack.wait_for_response()
    assert reply["response_type"] == "ephemeral"
    text = str(reply["blocks"])
    assert "Team: enterprise" in text
    assert "*SAL %*\\n100.0%" in text
    assert "1 passed" in text

"""Who may do what: a rep of another team can click nothing on a lead, and can see no
other team's rate, however the team is spelled or wherever the command is typed."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.e2e.conftest import Bot
from tests.e2e.test_clicks import new_lead
from tests.security.conftest import census


def _clicks(bot: Bot, lead_id: int) -> dict[str, dict[str, Any]]:
    lead = str(lead_id)
    return {
        "contacted": bot.click_payload("UC", "lead.contacted.call", value=lead),
        "take": bot.click_payload("UC", "lead.take", value=lead),
        "snooze": bot.click_payload(
            "UC", "lead.snooze", value=lead, extra={"selected_option": {"value": f"{lead}:60"}}
        ),
        "reassign to self": bot.click_payload(
            "UC", "lead.reassign", value=lead, extra={"selected_user": "UC"}
        ),
        "reject": bot.click_payload("UC", "lead.reject", value=lead),
    }


@pytest.mark.one_backend
def test_a_rep_of_another_team_is_refused_every_button_privately_and_nothing_is_recorded(
    bot: Bot,
) -> None:
    lead_id = new_lead(bot, "AUTH-1")
    before = census(bot.engine)
    for n, (button, payload) in enumerate(_clicks(bot, lead_id).items(), start=1):
        assert bot.interact(payload).status_code == 200, button
        refusals = bot.slack.wait_for("chat.postEphemeral", count=n)
        assert refusals[-1]["user"] == "UC", button
        assert "Only the lead's owner" in refusals[-1]["text"], (button, refusals[-1]["text"])
        assert census(bot.engine) == before, button
    time.sleep(0.2)
    assert bot.slack.called("chat.update") == []
    assert bot.slack.called("views.open") == []


def _ask(bot: Bot, user: str, text: str, channel: str = "CELSEWHERE") -> dict[str, Any]:
    before = len(bot.slack.responses)
    assert bot.command(user, text, channel).status_code == 200
    reply: dict[str, Any] = bot.slack.wait_for_response(before + 1)[-1]
    return reply


@pytest.mark.one_backend
def test_a_rep_sees_no_other_teams_rate_however_it_is_asked(bot: Bot) -> None:
    new_lead(bot, "AUTH-2")
    asks = [
        ("team:smb", "CELSEWHERE"),
        ("team:SMB", "CELSEWHERE"),
        ("team:ｓｍｂ", "CELSEWHERE"),  # full width, as a Japanese IME types it
        ("チーム:smb", "CELSEWHERE"),
        ("this-week public team:smb", "CELSEWHERE"),
        ("this-week", "CSMB"),  # in the other team's channel
        ("team:all", "CELSEWHERE"),
        ("team:ALL", "CELSEWHERE"),
        ("team:ａｌｌ", "CELSEWHERE"),
        ("team:all", "CTEAM"),
    ]
    for text, channel in asks:
        reply = _ask(bot, "UA", text, channel)
        words = json.dumps(reply, ensure_ascii=False)
        assert reply.get("response_type") == "ephemeral", (text, channel, reply)
        assert "blocks" not in reply, (text, channel, words)
        assert "Team: smb" not in words, (text, channel, words)
        assert "All teams" not in words, (text, channel, words)
        refusals = ("not yours to see", "`team:all` is for admins", "There is no team `SMB`")
        assert any(r in words for r in refusals), words
    # and the same rep still sees their own team
    assert "Team: enterprise" in json.dumps(_ask(bot, "UA", "team:enterprise"))

"""Every button on a lead card, the reject modal, who may click, and two at once."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.present.i18n import t
from storage.tables import Action, Lead, Rep
from tests.e2e.conftest import CONFIG, NOW, Bot, running_bot, slack_payload
from tests.e2e.test_thin_path import lead


def new_lead(bot: Bot, external_id: str = "C-1", owner: str | None = "a@example.com") -> int:
    answer = bot.handoff(lead(external_id, owner=owner))
    assert answer.status_code == 202, answer.text
    lead_id = int(answer.json()["accepted"][0]["id"])
    bot.wait_card(lead_id)
    return lead_id


def actions(bot: Bot) -> list[dict[str, Any]]:
    a = Action.__table__.c
    r = Rep.__table__.alias("actor")
    n = Rep.__table__.alias("new_owner")
    with bot.engine.connect() as conn:
        rows = conn.execute(
            select(a.kind, a.channel, a.reason, a.via, r.c.email, n.c.email, a.until)
            .outerjoin(r, r.c.id == a.actor_id)
            .outerjoin(n, n.c.id == a.new_owner_id)
            .order_by(a.id)
        )
        return [
            dict(
                zip(
                    ("kind", "channel", "reason", "via", "actor", "new_owner", "until"),
                    row,
                    strict=True,
                )
            )
            for row in rows
        ]


def owner_of(bot: Bot, lead_id: int) -> str | None:
    with bot.engine.connect() as conn:
        return conn.execute(
            select(Rep.__table__.c.email)
            .select_from(Lead.__table__)
            .outerjoin(Rep.__table__, Rep.__table__.c.id == Lead.__table__.c.owner_id)
            .where(Lead.__table__.c.id == lead_id)
        ).scalar()


def test_each_contact_channel_is_recorded_with_who_when_how_and_where(bot: Bot) -> None:
    for n, how in enumerate(("call", "email", "meeting", "message", "other")):
        lead_id = new_lead(bot, f"K-{how}")
        bot.slack.calls.clear()
        bot.clock.advance(timedelta(minutes=1))
        assert (
            bot.interact(
                bot.click_payload("UA", f"lead.contacted.{how}", value=str(lead_id))
            ).status_code
            == 200
        )
        update = bot.slack.wait_for("chat.update")[-1]
        assert f"Contacted by <@UA>, {how.capitalize()}" in json.dumps(
            update["blocks"], ensure_ascii=False
        )
        assert actions(bot)[n] | {"until": None} == {
            "kind": "contacted",
            "channel": how,
            "reason": None,
            "via": "slack",
            "actor": "a@example.com",
            "new_owner": None,
            "until": None,
        }


def test_a_stranger_is_refused_privately_and_nothing_is_recorded(bot: Bot) -> None:
    lead_id = new_lead(bot)
    click = bot.click_payload("USTRANGER", "lead.contacted.call", value=str(lead_id))
    assert bot.interact(click).status_code == 200
    (refusal,) = bot.slack.wait_for("chat.postEphemeral")
    assert refusal["user"] == "USTRANGER"
    assert "Only the lead's owner" in refusal["text"]
    assert actions(bot) == []
    # a rep of another team is a stranger to this lead too
    assert (
        bot.interact(bot.click_payload("UC", "lead.contacted.call", value=str(lead_id))).status_code
        == 200
    )
    bot.slack.wait_for("chat.postEphemeral", count=2)
    assert actions(bot) == []


def test_a_teammate_who_acts_takes_the_lead_over_on_the_record(bot: Bot) -> None:
    lead_id = new_lead(bot)
    assert (
        bot.interact(
            bot.click_payload("UB", "lead.contacted.email", value=str(lead_id))
        ).status_code
        == 200
    )
    bot.slack.wait_for("chat.update")
    recorded = actions(bot)
    assert [(a["kind"], a["actor"], a["new_owner"]) for a in recorded] == [
        ("reassigned", "b@example.com", "b@example.com"),
        ("contacted", "b@example.com", None),
    ]
    assert owner_of(bot, lead_id) == "b@example.com"
    # the outcome is charged to the teammate who acted
    bot.command("UBOSS", "this-week by:rep")
    (reply,) = bot.slack.wait_for_response()
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "*b@example.com*: ignore 0.0%" in text
    assert "a@example.com" not in text


def test_a_manager_acts_without_taking_the_lead(bot: Bot) -> None:
    lead_id = new_lead(bot)
    bot.interact(bot.click_payload("UBOSS", "lead.contacted.meeting", value=str(lead_id)))
    bot.slack.wait_for("chat.update")
    assert [a["kind"] for a in actions(bot)] == ["contacted"]
    assert owner_of(bot, lead_id) == "a@example.com"


def test_two_simultaneous_clicks_record_one_first_action_and_the_second_is_told(bot: Bot) -> None:
    lead_id = new_lead(bot)
    clicks = [
        bot.click_payload("UA", "lead.contacted.call", value=str(lead_id)),
        bot.click_payload("UBOSS", "lead.contacted.email", value=str(lead_id)),
    ]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send(payload: dict[str, Any]) -> None:
        barrier.wait()
        statuses.append(bot.interact(payload).status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in clicks]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert statuses == [200, 200]
    (told,) = bot.slack.wait_for("chat.postEphemeral")
    recorded = actions(bot)
    assert len(recorded) == 1
    winner = recorded[0]["actor"]
    loser = "UBOSS" if winner == "a@example.com" else "UA"
    assert told["user"] == loser
    assert "got there first" in told["text"]


def test_the_same_click_delivered_twice_is_recorded_once(bot: Bot) -> None:
    lead_id = new_lead(bot)
    click = bot.click_payload("UA", "lead.contacted.call", value=str(lead_id), action_ts="1.5")
    bot.interact(click)
    bot.slack.wait_for("chat.update")
    bot.interact(click)
    bot.slack.wait_for("chat.update", count=2)
    assert len(actions(bot)) == 1


def test_reject_opens_a_modal_and_its_submission_records_the_reason(bot: Bot) -> None:
    lead_id = new_lead(bot)
    bot.interact(bot.click_payload("UA", "lead.reject", value=str(lead_id), channel="DA", ts="9.1"))
    (opened,) = bot.slack.wait_for("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    codes = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert "not_a_fit" in codes
    assert "duplicate" in codes

    submission = json.loads(slack_payload("view_submission.json"))
    submission["user"] = {"id": "UA", "username": "a", "team_id": "T111"}
    submission["view"].update(
        {
            "callback_id": "lead.reject",
            "private_metadata": view["private_metadata"],
            "state": {
                "values": {
                    "reason": {
                        "value": {
                            "type": "static_select",
                            "selected_option": {"value": "no_budget"},
                        }
                    }
                }
            },
        }
    )
    assert bot.interact(submission).status_code == 200
    update = bot.slack.wait_for("chat.update")[-1]
    assert update["channel"] == "DA"
    assert "Rejected by <@UA> (no budget)" in json.dumps(update["blocks"], ensure_ascii=False)
    assert [(a["kind"], a["reason"]) for a in actions(bot)] == [("rejected", "no_budget")]


def test_a_rejection_for_an_excluding_reason_takes_the_lead_out_of_the_count(bot: Bot) -> None:
    lead_id = new_lead(bot)
    submission = json.loads(slack_payload("view_submission.json"))
    submission["user"] = {"id": "UA", "username": "a", "team_id": "T111"}
    submission["view"].update(
        {
            "callback_id": "lead.reject",
            "private_metadata": json.dumps({"lead": lead_id, "channel": "DA", "ts": "9.1"}),
            "state": {
                "values": {
                    "reason": {
                        "value": {
                            "type": "static_select",
                            "selected_option": {"value": "duplicate"},
                        }
                    }
                }
            },
        }
    )
    bot.interact(submission)
    update = bot.slack.wait_for("chat.update")[-1]
    assert "Excluded (duplicate)" in json.dumps(update["blocks"], ensure_ascii=False)
    bot.command("UBOSS", "this-week")
    (reply,) = bot.slack.wait_for_response()
    assert "1 passed · 1 excluded · 0 counted" in json.dumps(reply["blocks"], ensure_ascii=False)


@pytest.mark.one_backend
def test_a_submission_without_a_reason_is_answered_with_an_error(bot: Bot) -> None:
    lead_id = new_lead(bot)
    submission = json.loads(slack_payload("view_submission.json"))
    submission["view"].update(
        {
            "callback_id": "lead.reject",
            "private_metadata": json.dumps({"lead": lead_id}),
            "state": {"values": {}},
        }
    )
    answer = bot.interact(submission)
    assert answer.status_code == 200
    assert answer.json()["response_action"] == "errors"
    assert actions(bot) == []


@pytest.mark.one_backend
def test_a_stranger_cannot_open_the_reject_modal(bot: Bot) -> None:
    lead_id = new_lead(bot)
    bot.interact(bot.click_payload("USTRANGER", "lead.reject", value=str(lead_id)))
    bot.slack.wait_for("chat.postEphemeral")
    assert bot.slack.called("views.open") == []


def test_snooze_defers_reminders_and_leaves_the_deadline(bot: Bot) -> None:
    lead_id = new_lead(bot)
    click = bot.click_payload(
        "UA",
        "lead.snooze",
        extra={"type": "static_select", "selected_option": {"value": f"{lead_id}:240"}},
    )
    bot.interact(click)
    (told,) = bot.slack.wait_for("chat.postEphemeral")
    assert "snoozed" in told["text"]
    (recorded,) = actions(bot)
    assert recorded["kind"] == "snoozed"
    assert recorded["until"] == NOW + timedelta(minutes=240)
    with bot.engine.connect() as conn:
        due, snoozed = conn.execute(
            select(Lead.__table__.c.due_at, Lead.__table__.c.snoozed_until)
        ).one()
    assert due == NOW + timedelta(minutes=30)  # 60-minute SLA from 30 minutes ago
    assert snoozed == NOW + timedelta(minutes=240)


def test_reassign_moves_the_lead_to_the_person_picked(bot: Bot) -> None:
    lead_id = new_lead(bot)
    click = bot.click_payload(
        "UA",
        "lead.reassign",
        value=str(lead_id),
        extra={"type": "users_select", "selected_user": "UB", "block_id": f"lead:{lead_id}:more"},
    )
    bot.interact(click)
    bot.slack.wait_for("chat.update")
    assert owner_of(bot, lead_id) == "b@example.com"
    assert [(a["kind"], a["new_owner"]) for a in actions(bot)] == [("reassigned", "b@example.com")]


def test_take_it_on_an_unassigned_lead(bot: Bot) -> None:
    lead_id = new_lead(bot, owner=None)
    bot.interact(bot.click_payload("UB", "lead.take", value=str(lead_id), channel="CTEAM"))
    update = bot.slack.wait_for("chat.update")[-1]
    assert owner_of(bot, lead_id) == "b@example.com"
    assert "<@UB>" in json.dumps(update["blocks"], ensure_ascii=False)


@pytest.mark.one_backend
def test_forged_and_stale_slack_requests_are_refused_and_change_nothing(bot: Bot) -> None:
    lead_id = new_lead(bot)
    click = bot.click_payload("UA", "lead.contacted.call", value=str(lead_id))
    assert bot.interact(click, secret="forged").status_code == 401
    assert bot.interact(click, timestamp=int(NOW.timestamp()) - 3600).status_code == 401
    assert bot.command("UBOSS", "this-week", secret="forged").status_code == 401
    assert actions(bot) == []
    assert bot.slack.called("chat.update") == []
    assert bot.slack.responses == []


def test_a_team_that_asks_gets_the_card_in_its_channel_too_and_both_update(
    database_url: str,
) -> None:
    config = json.loads(json.dumps(CONFIG))
    config["teams"][0]["post_to_channel"] = True
    with running_bot(database_url, teams=config["teams"]) as bot:
        answer = bot.handoff(lead("P-1"))
        lead_id = answer.json()["accepted"][0]["id"]
        posts = bot.slack.wait_for("chat.postMessage", count=2)
        assert sorted(p["channel"] for p in posts) == ["CTEAM", "UA"]
        bot.wait_sent(2)  # both cards' (channel, ts) are known before the click
        bot.interact(
            bot.click_payload("UA", "lead.contacted.call", value=str(lead_id), channel="DA")
        )
        updates = bot.slack.wait_for("chat.update", count=2)
        assert {u["channel"] for u in updates} >= {"CTEAM", "DA"}


@pytest.mark.one_backend
def test_a_click_whose_value_is_malformed_is_told_nothing_was_recorded_and_counted(
    bot: Bot,
) -> None:
    lead_id = new_lead(bot, "MAL-1")
    before = actions(bot)
    clicks = [
        bot.click_payload("UA", "lead.contacted.call", value="not-a-lead"),
        bot.click_payload("UA", "lead.take", value="9" * 30),  # no key column holds it
        bot.click_payload("UA", "lead.reject", value="-1"),
        bot.click_payload(
            "UA",
            "lead.snooze",
            extra={"selected_option": {"value": f"{lead_id}x:60"}},  # no lead id
        ),
        bot.click_payload("UA", "lead.reassign", extra={"block_id": "lead", "selected_user": "UB"}),
    ]
    for payload in clicks:
        assert bot.interact(payload).status_code == 200
    told = bot.slack.wait_for("chat.postEphemeral", count=len(clicks))
    assert [m["text"] for m in told] == [t("en", "click.malformed")] * len(clicks)
    assert {m["user"] for m in told} == {"UA"}
    assert actions(bot) == before

    def malformed(kind: str) -> float:
        labels = {"kind": kind, "result": "malformed"}
        value = bot.service.metrics.registry.get_sample_value("ignorerate_clicks_total", labels)
        return value or 0.0

    assert malformed("contacted") == 1
    assert malformed("reassigned") == 2
    assert malformed("rejected") == 1
    assert malformed("snoozed") == 1
    errors = bot.service.metrics.registry.get_sample_value("ignorerate_listener_errors_total")
    assert errors == 0

"""Handoffs announced in Slack channels, retried events, and the App Home tab."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.tables import Lead, Rep
from tests.e2e.conftest import NOW, Bot
from tests.e2e.test_clicks import new_lead
from tests.e2e.test_thin_path import lead


def message(channel: str, text: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B999",
        "channel": channel,
        "text": text,
        "ts": f"{NOW.timestamp() - 600:.6f}",
        "event_ts": f"{NOW.timestamp() - 600:.6f}",
        "channel_type": "channel",
        **extra,
    }


def stored(bot: Bot) -> list[tuple[str, str, str | None]]:
    with bot.engine.connect() as conn:
        return [
            (source, external_id, owner)
            for source, external_id, owner in conn.execute(
                select(Lead.__table__.c.source, Lead.__table__.c.external_id, Rep.__table__.c.email)
                .outerjoin(Rep.__table__, Rep.__table__.c.id == Lead.__table__.c.owner_id)
                .order_by(Lead.__table__.c.id)
            )
        ]


def test_a_handoff_in_message_metadata_is_recorded_and_carded(bot: Bot) -> None:
    payload = {"external_id": "M-1", "owner_email": "b@example.com", "name": "Taro"}
    event = message(
        "CMETA", "New lead", metadata={"event_type": "lead_handoff", "event_payload": payload}
    )
    assert bot.event(event, "Ev1").status_code == 200
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert post["channel"] == "UB"
    assert stored(bot) == [("workflow", "M-1", "b@example.com")]
    with bot.engine.connect() as conn:
        handed = conn.execute(select(Lead.__table__.c.handed_off_at)).scalar()
    assert handed == NOW - timedelta(minutes=10)  # the message's own time


def test_a_plain_text_handoff_is_read_by_the_channel_pattern(bot: Bot) -> None:
    assert bot.event(message("CHAND", "New lead W-77 for a@example.com"), "Ev2").status_code == 200
    bot.slack.wait_for("chat.postMessage")
    assert stored(bot) == [("form", "W-77", "a@example.com")]


@pytest.mark.one_backend
def test_ordinary_chatter_in_a_handoff_channel_is_left_alone(bot: Bot) -> None:
    assert bot.event(message("CHAND", "lunch anyone?"), "Ev3").status_code == 200
    assert bot.event(message("CRANDOM", "New lead Z-1 for a@example.com"), "Ev4").status_code == 200
    bot.handoff(lead("marker"))  # something that does post, to know the events were handled
    bot.slack.wait_for("chat.postMessage")
    assert [e for _, e, _ in stored(bot)] == ["marker"]


def test_an_unreadable_handoff_gets_a_threaded_reply_and_nothing_is_half_recorded(bot: Bot) -> None:
    event = message("CHAND", "New lead W-78 for not-an-email")
    assert bot.event(event, "Ev5").status_code == 200
    (reply,) = bot.slack.wait_for("chat.postMessage")
    assert reply["channel"] == "CHAND"
    assert reply["thread_ts"] == event["ts"]
    assert "owner_email" in reply["text"]
    assert stored(bot) == []
    bad_meta = message(
        "CMETA", metadata={"event_type": "lead_handoff", "event_payload": {"name": "no id"}}
    )
    bot.event(bad_meta, "Ev6")
    replies = bot.slack.wait_for("chat.postMessage", count=2)
    assert "external_id: is required" in replies[1]["text"]


def test_retried_events_record_once_and_reply_once(bot: Bot) -> None:
    good = message("CHAND", "New lead W-79 for a@example.com")
    bad = message("CHAND", "New lead W-80 for nobody", ts="1.000001")
    for retry in ("", "1", "2"):
        headers = (
            {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        )
        assert bot.event(good, "EvGood", headers=headers).status_code == 200
        assert bot.event(bad, "EvBad", headers=headers).status_code == 200
    posts = bot.slack.wait_for("chat.postMessage", count=2)
    bot.handoff(lead("marker"))
    bot.slack.wait_for("chat.postMessage", count=3)
    assert len(bot.slack.called("chat.postMessage")) == 3
    assert sorted(p["channel"] for p in posts) == ["CHAND", "UA"]
    assert [e for _, e, _ in stored(bot)] == ["W-79", "marker"]


def test_app_home_shows_a_reps_open_leads_soonest_deadline_first(bot: Bot) -> None:
    later = new_lead(bot, "H-later")
    bot.handoff(lead("H-sooner", handed_off_at=(NOW - timedelta(minutes=50)).isoformat()))
    bot.slack.wait_for("chat.postMessage", count=2)
    done = new_lead(bot, "H-done")
    bot.interact(bot.click_payload("UA", "lead.contacted.call", value=str(done)))
    bot.slack.wait_for("chat.update")
    home = {
        "type": "app_home_opened",
        "user": "UA",
        "channel": "DA",
        "tab": "home",
        "event_ts": "1.2",
    }
    bot.event(home, "EvHome1")
    (published,) = bot.slack.wait_for("views.publish")
    view = (
        published["view"] if isinstance(published["view"], dict) else json.loads(published["view"])
    )
    text = json.dumps(view, ensure_ascii=False)
    assert "Waiting for your first touch: 2" in text
    assert text.index("H-sooner") < text.index("H-later")
    assert "H-done" not in text
    assert f'"value": "{later}"' in text
    assert len(view["blocks"]) <= 100


def test_app_home_shows_a_manager_the_team_rate_and_who_holds_overdue_leads(bot: Bot) -> None:
    bot.handoff(lead("O-1", handed_off_at=(NOW - timedelta(hours=3)).isoformat()))
    bot.handoff(
        lead("O-2", owner="b@example.com", handed_off_at=(NOW - timedelta(hours=3)).isoformat())
    )
    bot.handoff(lead("O-3", handed_off_at=(NOW - timedelta(hours=2)).isoformat()))
    bot.event(
        {"type": "app_home_opened", "user": "UBOSS", "tab": "home", "event_ts": "1.3"}, "EvHome2"
    )
    (published,) = bot.slack.wait_for("views.publish")
    view = (
        published["view"] if isinstance(published["view"], dict) else json.loads(published["view"])
    )
    text = json.dumps(view, ensure_ascii=False)
    assert "enterprise this week" in text
    assert "*ignore %*\\n100.0%" in text
    assert "a@example.com: 2" in text
    assert text.index("a@example.com: 2") < text.index("b@example.com: 1")


def test_a_click_on_the_home_tab_records_and_refreshes_the_home_tab(bot: Bot) -> None:
    lead_id = new_lead(bot, "H-click")
    click = bot.click_payload("UA", "lead.contacted.message", value=str(lead_id))
    click["container"] = {"type": "view", "view_id": "VHOME"}
    click.pop("channel")
    click["view"] = {"id": "VHOME", "type": "home"}
    assert bot.interact(click).status_code == 200
    (published,) = bot.slack.wait_for("views.publish")
    view = (
        published["view"] if isinstance(published["view"], dict) else json.loads(published["view"])
    )
    assert "Waiting for your first touch: 0" in json.dumps(view)
    (card,) = bot.slack.wait_for("chat.update")  # the DM card, updated in place too
    assert "Contacted by <@UA>, Message" in json.dumps(card["blocks"], ensure_ascii=False)


@pytest.mark.one_backend
def test_a_handoff_at_an_unsupported_instant_is_refused_in_the_thread(bot: Bot) -> None:
    """The handoff channel reads instants through the same field rules as the webhook and
    the import: one out of the supported range is named, and nothing is stored."""
    far = {"external_id": "M-9", "handed_off_at": "9999-12-31T23:59:59+00:00"}
    bot.event(message("CMETA", metadata={"event_type": "lead_handoff", "event_payload": far}), "E9")
    (reply,) = bot.slack.wait_for("chat.postMessage")
    assert (
        "handed_off_at: 9999-12-31T23:59:59+00:00 is outside the supported range" in reply["text"]
    )
    cases = [
        ("253402300799.000000", "handed_off_at: 9999-12-31T23:59:59+00:00 is outside the"),
        ("1e300", "ts: expected the message's Slack time"),
        ("-5", "ts: expected the message's Slack time"),
        ("nan", "ts: expected the message's Slack time"),
    ]
    for n, (ts, said) in enumerate(cases, start=2):
        bot.event(message("CHAND", "New lead W-9 for a@example.com", ts=ts), f"E9-{n}")
        assert said in bot.slack.wait_for("chat.postMessage", count=n)[-1]["text"], ts
    assert stored(bot) == []
    assert bot.service.metrics.registry.get_sample_value("ignorerate_listener_errors_total") == 0

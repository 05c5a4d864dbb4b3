"""POST /hooks/handoff: signed, idempotent, every bad field named, good leads kept."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storage.tables import Lead, OutboxMessage
from tests.e2e.conftest import NOW, Bot, running_bot, sign_webhook
from tests.e2e.test_thin_path import lead


def count_leads(bot: Bot) -> int:
    with bot.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Lead.__table__)).scalar_one())


def test_a_batch_is_stored_and_the_same_batch_again_adds_nothing(bot: Bot) -> None:
    batch = {"leads": [lead(f"B-{i}") for i in range(50)]}
    first = bot.handoff(batch)
    assert first.status_code == 202
    assert [a["new"] for a in first.json()["accepted"]] == [True] * 50
    again = bot.handoff(batch)
    assert again.status_code == 202
    assert [a["new"] for a in again.json()["accepted"]] == [False] * 50
    assert [a["id"] for a in again.json()["accepted"]] == [
        a["id"] for a in first.json()["accepted"]
    ]
    assert count_leads(bot) == 50
    with bot.engine.connect() as conn:
        cards = conn.execute(select(func.count()).select_from(OutboxMessage.__table__)).scalar()
    assert cards == 50


def test_known_and_new_leads_in_one_batch_keep_their_ids_and_only_new_ones_get_cards(
    bot: Bot,
) -> None:
    first = bot.handoff({"leads": [lead(f"M-{i}") for i in range(0, 10, 2)]})
    known = {a["external_id"]: a["id"] for a in first.json()["accepted"]}
    # the same lead twice in one batch is one lead; a number is read as its text
    batch = [lead(f"M-{i}") for i in range(10)] + [lead("M-3"), {**lead("M-10"), "name": 7}]
    answer = bot.handoff({"leads": batch})
    assert answer.status_code == 202
    accepted = answer.json()["accepted"]
    assert [a["index"] for a in accepted] == list(range(12))
    by_id = {a["external_id"]: a for a in accepted}
    for external_id, id_ in known.items():
        assert by_id[external_id]["id"] == id_
        assert by_id[external_id]["new"] is False
    new = [a for a in accepted if a["external_id"] not in known]
    assert all(a["new"] for a in new)
    assert accepted[3]["id"] == accepted[10]["id"]
    assert len({a["id"] for a in accepted}) == 11
    assert count_leads(bot) == 11
    with bot.engine.connect() as conn:
        keys = set(conn.execute(select(OutboxMessage.__table__.c.key)).scalars())
    assert keys == {f"card:{id_}:owner" for id_ in {a["id"] for a in accepted}}
    with bot.engine.connect() as conn:
        name = conn.execute(
            select(Lead.__table__.c.name).where(Lead.__table__.c.external_id == "M-10")
        ).scalar_one()
    assert name == "7"


def test_bad_fields_are_named_and_the_good_leads_of_the_batch_are_kept(bot: Bot) -> None:
    batch = {
        "leads": [
            lead("G-1"),
            lead("X-1", handed_off_at="2026-11-24 10:00"),
            {**lead("X-2"), "team": "nowhere", "owner_email": "not-an-email"},
            lead("G-2"),
            {**lead("X-3"), "colour": "blue", "name": {"first": "A"}},
        ]
    }
    answer = bot.handoff(batch)
    assert answer.status_code == 400
    body = answer.json()
    assert [a["external_id"] for a in body["accepted"]] == ["G-1", "G-2"]
    refused = {r["external_id"]: r for r in body["refused"]}
    assert sorted(refused) == ["X-1", "X-2", "X-3"]
    assert [e["field"] for e in refused["X-1"]["errors"]] == ["handed_off_at"]
    assert "no UTC offset" in refused["X-1"]["errors"][0]["message"]
    assert sorted(e["field"] for e in refused["X-2"]["errors"]) == ["owner_email", "team"]
    assert sorted(e["field"] for e in refused["X-3"]["errors"]) == ["colour", "name"]
    assert refused["X-2"]["index"] == 2
    assert count_leads(bot) == 2


@pytest.mark.one_backend
def test_forged_stale_and_unsigned_requests_change_nothing(bot: Bot) -> None:
    now = int(bot.clock.now().timestamp())
    assert bot.handoff(lead("F-1"), secret="wrong-secret").status_code == 401
    assert bot.handoff(lead("F-2"), timestamp=now - 301).status_code == 401
    assert bot.handoff(lead("F-3"), timestamp=now + 301).status_code == 401
    body = json.dumps(lead("F-4")).encode()
    unsigned = bot.http.post(f"{bot.url}/hooks/handoff", content=body)
    assert unsigned.status_code == 401
    assert "signature" in unsigned.json()["error"]
    assert count_leads(bot) == 0
    assert bot.handoff(lead("F-5"), timestamp=now - 299).status_code == 202


@pytest.mark.one_backend
def test_a_body_over_one_megabyte_is_refused_unread(bot: Bot) -> None:
    big = {"leads": [lead("T-1", name="x" * 200)] * 6000}
    raw = json.dumps(big).encode()
    assert len(raw) > 1024 * 1024
    answer = bot.handoff(None, raw=raw)
    assert answer.status_code == 413
    assert count_leads(bot) == 0


@pytest.mark.one_backend
def test_not_json_and_wrong_shapes_say_what_is_expected(bot: Bot) -> None:
    not_json = bot.handoff(None, raw=b"source=web&external_id=1")
    assert not_json.status_code == 400
    assert "not JSON" in not_json.json()["error"]
    assert "at most 500" in bot.handoff({"leads": [lead("x")] * 501}).json()["error"]
    assert "list" in bot.handoff({"leads": {"a": 1}}).json()["error"]
    assert "one lead object" in bot.handoff([1, 2]).json()["error"]


def test_unknown_owner_goes_to_the_team_channel_with_take_it(bot: Bot) -> None:
    answer = bot.handoff(lead("U-1", owner="nobody@example.com"))
    assert answer.status_code == 202
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert post["channel"] == "CTEAM"
    assert "lead.take" in json.dumps(post["blocks"], ensure_ascii=False)


def test_no_owner_at_all_goes_to_the_team_channel(bot: Bot) -> None:
    assert bot.handoff(lead("U-2", owner=None)).status_code == 202
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert post["channel"] == "CTEAM"
    assert "lead.take" in json.dumps(post["blocks"], ensure_ascii=False)


def test_owner_given_by_slack_id_receives_the_card(bot: Bot) -> None:
    answer = bot.handoff({**lead("S-1", owner=None), "owner_slack_id": "UB"})
    assert answer.status_code == 202
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert post["channel"] == "UB"


def test_slack_failing_delays_the_card_but_loses_nothing(bot: Bot) -> None:
    # three 500s, then Slack is back: the outbox backs off after each and delivers once
    bot.slack.fail("chat.postMessage", "500", times=3)
    assert bot.handoff(lead("R-1")).status_code == 202
    for tries in (1, 2, 3):
        bot.slack.wait_for("chat.postMessage", count=tries)
        bot.wait_retrying(attempts=tries)
        assert len(bot.slack.called("chat.postMessage")) == tries  # nothing before the backoff
        bot.clock.advance(timedelta(minutes=5))  # past the backoff after this many tries
    posts = bot.slack.wait_for("chat.postMessage", count=4)
    assert posts[-1]["channel"] == "UA"
    bot.wait_sent(1)
    with bot.engine.connect() as conn:
        status, attempts = conn.execute(
            select(OutboxMessage.__table__.c.status, OutboxMessage.__table__.c.attempts)
        ).one()
    assert (status, attempts) == ("sent", 4)


def test_rate_limited_post_waits_for_retry_after_then_goes(bot: Bot) -> None:
    bot.slack.fail("chat.postMessage", "429", times=1, value=30)
    assert bot.handoff(lead("R-2")).status_code == 202
    bot.slack.wait_for("chat.postMessage", count=1)
    # the 429 must be written down before the clock moves, or the wait starts later
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with bot.engine.connect() as conn:
            noted = conn.execute(select(OutboxMessage.__table__.c.last_error)).scalar()
        if noted:
            break
        time.sleep(0.02)
    assert noted is not None
    assert noted.startswith("rate limited")
    bot.clock.advance(timedelta(seconds=29))
    time.sleep(0.5)  # the worker polls every 0.1 s: it had time to send, and must not
    assert len(bot.slack.called("chat.postMessage")) == 1
    bot.clock.advance(timedelta(seconds=2))
    posts = bot.slack.wait_for("chat.postMessage", count=2)
    assert [p["channel"] for p in posts] == ["UA", "UA"]
    bot.wait_sent(1)
    with bot.engine.connect() as conn:
        attempts = conn.execute(select(OutboxMessage.__table__.c.attempts)).scalar_one()
    assert attempts == 1  # a 429 is Slack saying "later", not a failed try


def test_health_and_metrics(bot: Bot) -> None:
    assert bot.http.get(f"{bot.url}/healthz").json() == {
        "ok": True,
        "database": "ok",
        "slack": "ok",
    }
    bot.handoff(lead("M-1"))
    bot.handoff(lead("M-1"), secret="nope")
    text = bot.http.get(f"{bot.url}/metrics").text
    assert 'ignorerate_handoffs_total{door="webhook",result="new"} 1.0' in text
    assert 'ignorerate_rejected_requests_total{door="webhook",reason="bad_signature"} 1.0' in text
    assert NOW.year == 2026


def test_a_hanging_slack_times_out_and_the_card_is_retried(database_url: str) -> None:
    with running_bot(database_url, env_extra={"SLACK_API_TIMEOUT": "1"}) as bot:
        bot.slack.fail("chat.postMessage", "hang", times=1, value=3)
        assert bot.handoff(lead("H-1")).status_code == 202
        bot.slack.wait_for("chat.postMessage")
        bot.wait_retrying()
        bot.clock.advance(timedelta(minutes=1))
        bot.wait_sent(1)
        posts = bot.slack.called("chat.postMessage")
        # the hung call may still have posted on Slack's side: at least once, never lost
        assert len(posts) == 2
        assert all(p["channel"] == "UA" for p in posts)


@pytest.mark.one_backend
def test_a_body_not_sent_as_json_is_refused_415_and_stores_nothing(bot: Bot) -> None:
    raw = json.dumps(lead("CT-1")).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        headers = {**sign_webhook(raw, int(bot.clock.now().timestamp())), "Content-Type": ""}
        if content_type:
            headers["Content-Type"] = content_type
        else:
            del headers["Content-Type"]
        answer = bot.http.post(f"{bot.url}/hooks/handoff", content=raw, headers=headers)
        assert answer.status_code == 415, (content_type, answer.text)
        assert "application/json" in answer.json()["error"]
    charset = {
        **sign_webhook(raw, int(bot.clock.now().timestamp())),
        "Content-Type": "application/json; charset=utf-8",
    }
    assert (
        bot.http.post(f"{bot.url}/hooks/handoff", content=raw, headers=charset).status_code == 202
    )
    assert count_leads(bot) == 1


@pytest.mark.one_backend
def test_keys_beside_leads_are_refused_400_and_named(bot: Bot) -> None:
    answer = bot.handoff({"leads": [lead("K-1")], "dry_run": True})
    assert answer.status_code == 400
    body = answer.json()
    assert "dry_run" in body["error"]
    assert body["accepted"] == []
    assert body["refused"] == []
    assert count_leads(bot) == 0


def test_the_same_lead_twice_in_a_batch_is_one_lead_and_the_repeat_is_named(bot: Bot) -> None:
    answer = bot.handoff({"leads": [lead("R-1"), lead("R-2"), {**lead("R-1"), "name": "again"}]})
    assert answer.status_code == 202
    accepted = answer.json()["accepted"]
    assert [a["index"] for a in accepted] == [0, 1, 2]
    assert "repeat_of" not in accepted[0]
    assert "repeat_of" not in accepted[1]
    assert accepted[2]["repeat_of"] == 0
    assert accepted[2]["id"] == accepted[0]["id"]
    assert count_leads(bot) == 2
    text = bot.http.get(f"{bot.url}/metrics").text
    assert 'ignorerate_handoffs_total{door="webhook",result="new"} 2.0' in text


@pytest.mark.one_backend
def test_an_instant_out_of_the_supported_range_is_refused_naming_the_field(bot: Bot) -> None:
    for moment in ("9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59Z"):
        single = bot.handoff(lead("OUT-0", handed_off_at=moment))
        assert single.status_code == 400, single.text
        [refused] = single.json()["refused"]
        assert [e["field"] for e in refused["errors"]] == ["handed_off_at"]
        assert "supported range" in refused["errors"][0]["message"]
    assert count_leads(bot) == 0
    batch = [
        lead("OUT-1"),
        lead("OUT-2", handed_off_at="9999-12-31T23:59:59+00:00"),
        lead("OUT-3"),
        lead("OUT-4", handed_off_at="0001-01-01T00:00:00+14:00"),
    ]
    answer = bot.handoff({"leads": batch})
    assert answer.status_code == 400
    body = answer.json()
    assert [(a["index"], a["external_id"]) for a in body["accepted"]] == [
        (0, "OUT-1"),
        (2, "OUT-3"),
    ]
    assert [(r["index"], r["external_id"]) for r in body["refused"]] == [(1, "OUT-2"), (3, "OUT-4")]
    assert all(r["errors"][0]["field"] == "handed_off_at" for r in body["refused"])
    assert count_leads(bot) == 2
    # the sender's retry of the same batch stores nothing twice and is answered alike
    again = bot.handoff({"leads": batch})
    assert [a["id"] for a in again.json()["accepted"]] == [a["id"] for a in body["accepted"]]
    assert count_leads(bot) == 2


@pytest.mark.one_backend
def test_errors_say_what_is_wrong_in_our_words_not_the_parser_s(bot: Bot) -> None:
    cases = {
        b"\xff\xfe{}": "body is not UTF-8: byte 0 cannot be decoded",
        b'{"source": ': "body is not JSON: a syntax error at line 1, column 12",
        b'{"external_id": ' + b"9" * 5000 + b"}": (
            "body is not JSON we read: a number of over 200 digits"
        ),
        b"[" * 100000 + b"]" * 100000: "body is not JSON we read: nested too deeply",
    }
    for raw, message in cases.items():
        answer = bot.handoff(None, raw=raw)
        assert answer.status_code == 400
        assert answer.json()["error"] == message
    assert count_leads(bot) == 0
    # a byte order mark before the JSON is no error
    assert (
        bot.handoff(None, raw=b"\xef\xbb\xbf" + json.dumps(lead("BOM-1")).encode()).status_code
        == 202
    )

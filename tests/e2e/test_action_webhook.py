"""POST /hooks/action: actions by (source, external_id), signed like the handoff webhook;
each recorded once however often it is sent, every bad field named, good actions kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app.fields import ACTION_KINDS
from bot.app.reports import report
from storage.tables import Action, Lead
from tests.e2e.conftest import NOW, Bot, sign_webhook
from tests.e2e.test_thin_path import lead
from tests.security.conftest import census


def action(
    external_id: str,
    kind: str = "contacted:call",
    at: datetime = NOW - timedelta(minutes=10),
    **extra: Any,
) -> dict[str, Any]:
    """An action on a lead of `lead(external_id)` (handed off 30 minutes before NOW)."""
    return {
        "source": "webinar",
        "external_id": external_id,
        "at": at.isoformat(),
        "kind": kind,
        "actor_email": "a@example.com",
        **extra,
    }


def handed_off(bot: Bot, *external_ids: str) -> list[int]:
    answer = bot.handoff({"leads": [lead(e) for e in external_ids]})
    assert answer.status_code == 202, answer.text
    return [a["id"] for a in answer.json()["accepted"]]


def count_actions(bot: Bot) -> int:
    with bot.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Action.__table__)).scalar_one())


def stored_actions(bot: Bot) -> list[dict[str, Any]]:
    table = Action.__table__
    with bot.engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.id)).all()
    return [dict(row._mapping) for row in rows]


def test_one_action_is_recorded_and_the_same_request_again_records_nothing(bot: Bot) -> None:
    (lead_id,) = handed_off(bot, "A-1")
    first = bot.action(action("A-1"))
    assert first.status_code == 202, first.text
    (accepted,) = first.json()["accepted"]
    assert first.json()["refused"] == []
    assert accepted == {
        "index": 0,
        "source": "webinar",
        "external_id": "A-1",
        "kind": "contacted:call",
        "id": accepted["id"],
        "new": True,
    }
    (row,) = stored_actions(bot)
    assert row["id"] == accepted["id"]
    assert row["lead_id"] == lead_id
    assert (row["kind"], row["channel"], row["via"]) == ("contacted", "call", "webhook")
    assert row["at"].replace(tzinfo=None) == (NOW - timedelta(minutes=10)).replace(tzinfo=None)
    with bot.engine.connect() as conn:
        first_kind = conn.execute(
            select(Lead.__table__.c.first_action_kind).where(Lead.__table__.c.id == lead_id)
        ).scalar_one()
    assert first_kind == "contacted"

    again = bot.action(action("A-1"))  # a sender's retry: signed anew, same action
    assert again.status_code == 202
    assert again.json()["accepted"] == [{**accepted, "new": False}]
    assert count_actions(bot) == 1


def test_a_batch_of_every_kind_is_recorded_and_sent_again_records_nothing(bot: Bot) -> None:
    handed_off(bot, "K-1", "K-2", "K-3")
    batch = {
        "actions": [
            action("K-1", "contacted:email"),
            action("K-1", "comment", at=NOW - timedelta(minutes=9)),
            action("K-1", "snoozed", at=NOW - timedelta(minutes=8)),
            action("K-2", "Rejected", reason="Not a fit"),  # a kind's case is not its own
            action("K-2", "reassigned", new_owner_email="B@example.com"),
            action("K-3", "excluded", reason="duplicate"),
            action("K-3", "contacted:meeting", actor_email=None),
        ]
    }
    first = bot.action(batch)
    assert first.status_code == 202, first.text
    accepted = first.json()["accepted"]
    assert [a["index"] for a in accepted] == list(range(7))
    assert [a["kind"] for a in accepted] == [
        "contacted:email",
        "comment",
        "snoozed",
        "rejected",
        "reassigned",
        "excluded",
        "contacted:meeting",
    ]
    assert all(a["new"] for a in accepted)
    assert len({a["id"] for a in accepted}) == 7
    rows = {row["id"]: row for row in stored_actions(bot)}
    assert set(rows) == {a["id"] for a in accepted}
    assert {row["via"] for row in rows.values()} == {"webhook"}
    rejected = rows[accepted[3]["id"]]
    assert (rejected["reason"], rejected["excludes"]) == ("not_a_fit", False)  # as configured
    excluded = rows[accepted[5]["id"]]
    assert (excluded["reason"], excluded["excludes"]) == ("duplicate", True)

    again = bot.action(batch)
    assert again.status_code == 202
    assert again.json()["accepted"] == [{**a, "new": False} for a in accepted]
    assert count_actions(bot) == 7
    text = bot.http.get(f"{bot.url}/metrics").text
    assert 'ignorerate_actions_total{door="webhook",result="new"} 7.0' in text
    assert 'ignorerate_actions_total{door="webhook",result="known"} 7.0' in text


def test_bad_actions_are_named_by_index_and_field_and_the_good_ones_are_kept(bot: Bot) -> None:
    handed_off(bot, "G-1", "G-2")
    batch = {
        "actions": [
            action("G-1"),
            action("G-1", "called"),
            action("G-1", "rejected"),
            action("NOBODY-1"),
            action("G-2", at=NOW - timedelta(hours=2)),
            {**action("G-2"), "colour": "blue", "reason": {"why": "x"}},
            action("G-2", at=datetime(2026, 11, 24, 11, 0)),  # noqa: DTZ001 (no offset: the point)
            action("G-2", "reassigned"),
            "contacted",
            action("G-2", "comment"),
        ]
    }
    answer = bot.action(batch)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "8 of 10 actions refused; the others were recorded"
    assert [(a["index"], a["external_id"]) for a in body["accepted"]] == [(0, "G-1"), (9, "G-2")]
    refused = {r["index"]: r for r in body["refused"]}
    assert sorted(refused) == [1, 2, 3, 4, 5, 6, 7, 8]
    fields = {i: sorted(e["field"] for e in r["errors"]) for i, r in refused.items()}
    assert fields == {
        1: ["kind"],
        2: ["reason"],
        3: ["external_id"],
        4: ["at"],
        5: ["colour", "reason"],
        6: ["at"],
        7: ["new_owner_email"],
        8: ["action"],
    }
    messages = {i: r["errors"][0]["message"] for i, r in refused.items()}
    # the accepted forms are named
    assert '"called" is not a kind; expected one of contacted:call' in messages[1]
    assert "comment" in messages[1]
    assert "a rejection needs a reason" in messages[2]
    assert messages[3] == 'no lead "NOBODY-1" from source "webinar"'
    assert "before the lead's handoff" in messages[4]
    assert "no UTC offset" in messages[6]
    assert refused[3]["external_id"] == "NOBODY-1"
    assert refused[8]["external_id"] is None
    assert count_actions(bot) == 2
    text = bot.http.get(f"{bot.url}/metrics").text
    assert 'ignorerate_actions_total{door="webhook",result="refused"} 8.0' in text


def test_the_same_action_twice_in_a_batch_is_one_action_and_the_repeat_is_named(
    bot: Bot,
) -> None:
    handed_off(bot, "R-1")
    # the same moment to the second is the same action: times are kept to the second
    later = action("R-1", at=NOW - timedelta(minutes=10, microseconds=-1000))
    answer = bot.action({"actions": [action("R-1"), action("R-1", "comment"), later]})
    assert answer.status_code == 202, answer.text
    accepted = answer.json()["accepted"]
    assert "repeat_of" not in accepted[0]
    assert "repeat_of" not in accepted[1]
    assert accepted[2]["repeat_of"] == 0
    assert accepted[2]["id"] == accepted[0]["id"]
    assert accepted[2]["new"] is True  # as the action it repeats
    assert count_actions(bot) == 2
    text = bot.http.get(f"{bot.url}/metrics").text
    assert 'ignorerate_actions_total{door="webhook",result="new"} 2.0' in text


def test_an_action_posted_through_the_door_counts_in_the_rate(bot: Bot) -> None:
    """Two leads, a 60-minute SLA; one is called 20 minutes in (the CRM says so), the
    other never. Two hours later the rate says one on time, one ignored."""
    handed_off(bot, "RATE-1", "RATE-2")
    assert bot.action(action("RATE-1")).status_code == 202
    bot.clock.advance(timedelta(hours=2))
    totals = report(bot.engine, bot.settings, "this-week", bot.clock.now(), "enterprise").totals
    assert (totals.handed_off, totals.on_time, totals.late, totals.ignored) == (2, 1, 0, 1)
    # and as a manager asks for it in Slack
    assert bot.command("UBOSS", "this-week").status_code == 200
    (reply,) = bot.slack.wait_for_response()
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "*ignore %*\\n50.0%" in text, text
    assert "1 ignored, 1 actioned (1 on time, 0 late, 0 rejected)" in text, text


def test_an_action_late_by_the_sla_counts_late(bot: Bot) -> None:
    handed_off(bot, "LATE-1")
    # handed off 30 minutes before NOW; the SLA is 60 minutes: 40 minutes after NOW is late
    answer = bot.action(action("LATE-1", at=NOW + timedelta(minutes=40)))
    assert answer.status_code == 202, answer.text
    bot.clock.advance(timedelta(hours=2))
    totals = report(bot.engine, bot.settings, "this-week", bot.clock.now()).totals
    assert (totals.on_time, totals.late, totals.ignored) == (0, 1, 0)


@pytest.mark.one_backend
def test_forged_stale_and_unsigned_requests_record_nothing(bot: Bot) -> None:
    handed_off(bot, "F-1")
    before = census(bot.engine)
    now = int(bot.clock.now().timestamp())
    assert bot.action(action("F-1"), secret="wrong-secret").status_code == 401
    assert bot.action(action("F-1"), timestamp=now - 301).status_code == 401
    assert bot.action(action("F-1"), timestamp=now + 301).status_code == 401
    raw = json.dumps(action("F-1")).encode()
    unsigned = bot.http.post(
        f"{bot.url}/hooks/action", content=raw, headers={"Content-Type": "application/json"}
    )
    assert unsigned.status_code == 401
    assert "signature" in unsigned.json()["error"]
    # a signature over another body
    other = sign_webhook(json.dumps(action("F-1", "comment")).encode(), now)
    assert bot.http.post(f"{bot.url}/hooks/action", content=raw, headers=other).status_code == 401
    # a bearer token where none is set up
    bearer = bot.with_token("action", action("F-1"), "x" * 40)
    assert bearer.status_code == 401
    assert "IGNORERATE_WEBHOOK_TOKEN is not set" in bearer.json()["error"]
    assert census(bot.engine) == before
    text = bot.http.get(f"{bot.url}/metrics").text
    assert (
        'ignorerate_rejected_requests_total{door="action_webhook",reason="bad_signature"} 5.0'
        in text
    )
    assert (
        'ignorerate_rejected_requests_total{door="action_webhook",reason="bad_token"} 1.0' in text
    )
    assert bot.action(action("F-1"), timestamp=now - 299).status_code == 202


@pytest.mark.one_backend
def test_wrong_shapes_types_and_sizes_say_what_is_expected(bot: Bot) -> None:
    handed_off(bot, "S-1")
    before = census(bot.engine)
    cases: list[tuple[Any, str]] = [
        ({"actions": []}, '"actions" is empty'),
        ({"actions": [action("S-1")] * 501}, '"actions" has 501 items; at most 500 a request'),
        ({"actions": {"a": 1}}, '"actions" must be a list of action objects'),
        ([action("S-1")], 'expected one action object or {"actions": [...]}'),
        (
            {"actions": [action("S-1")], "dry_run": True},
            'unknown field dry_run beside "actions": a batch is {"actions": [...]} and nothing '
            "else",
        ),
    ]
    for payload, message in cases:
        answer = bot.action(payload)
        assert answer.status_code == 400, payload
        assert answer.json() == {"error": message, "accepted": [], "refused": []}
    not_json = bot.action(None, raw=b'{"source": ')
    assert not_json.json()["error"] == "body is not JSON: a syntax error at line 1, column 12"
    raw = json.dumps(action("S-1")).encode()
    headers = {**sign_webhook(raw, int(bot.clock.now().timestamp())), "Content-Type": "text/csv"}
    wrong_type = bot.http.post(f"{bot.url}/hooks/action", content=raw, headers=headers)
    assert wrong_type.status_code == 415
    assert "send application/json" in wrong_type.json()["error"]
    big = bot.action(None, raw=b'{"reason": "' + b"x" * (1024 * 1024) + b'"}')
    assert big.status_code == 413
    assert census(bot.engine) == before


# ------------------------------------------------------------------ any batch

PROPERTY_LEADS = ("P-0", "P-1", "P-2")
HANDED_OFF = NOW - timedelta(minutes=30)  # as `lead()` hands them off


def _good_kind(kind: str) -> dict[str, Any]:
    if kind == "rejected":
        return {"kind": kind, "reason": "not_a_fit"}
    if kind == "reassigned":
        return {"kind": kind, "new_owner_email": "b@example.com"}
    return {"kind": kind}


# an item of a batch, and whether it must be accepted
GOOD_ITEMS = st.builds(
    lambda external_id, minutes, fields, actor: (
        {**action(external_id, at=HANDED_OFF + timedelta(minutes=minutes)), **fields, **actor},
        True,
    ),
    st.sampled_from(PROPERTY_LEADS),
    st.integers(0, 40),
    st.sampled_from(ACTION_KINDS).map(_good_kind),
    st.sampled_from([{}, {"actor_email": None}, {"actor_email": "c@example.com"}]),
)
BAD_ITEMS = st.one_of(
    st.builds(lambda i: (action(f"NOPE-{i}"), False), st.integers(0, 3)),  # no such lead
    st.builds(  # before the handoff
        lambda external_id, minutes: (
            action(external_id, at=HANDED_OFF - timedelta(minutes=minutes)),
            False,
        ),
        st.sampled_from(PROPERTY_LEADS),
        st.integers(1, 60),
    ),
    st.sampled_from(
        [
            ({**action("P-0"), "kind": "called"}, False),
            ({**action("P-0"), "kind": "rejected"}, False),  # without its reason
            ({**action("P-1"), "at": "2026-11-24T11:00:00"}, False),  # without an offset
            ({**action("P-1"), "at": "9999-12-31T23:59:59+00:00"}, False),
            ({**action("P-2"), "colour": "blue"}, False),
            ({**action("P-2"), "reason": ["a", "b"]}, False),
            ({**action("P-2"), "new_owner_email": "b@example.com"}, False),  # not a reassignment
            ("contacted:call", False),
            (None, False),
        ]
    ),
)
BATCHES = st.lists(st.one_of(GOOD_ITEMS, BAD_ITEMS), min_size=1, max_size=8)


@settings(max_examples=25)
@given(batch=BATCHES)
def test_any_batch_is_answered_item_by_item_and_sent_twice_is_recorded_once(
    bot: Bot, batch: list[tuple[Any, bool]]
) -> None:
    """Every item is answered once, by its index: accepted exactly when it is good. The
    same action twice is one action (the later names the first). Sent again, the batch
    records nothing and is answered with the same ids."""
    handed_off(bot, *PROPERTY_LEADS)
    items = [item for item, _ in batch]
    before = count_actions(bot)
    first = bot.action({"actions": items})
    body = first.json()
    accepted = {a["index"]: a for a in body["accepted"]}
    refused = {r["index"]: r for r in body["refused"]}
    assert first.status_code == (400 if refused else 202), first.text
    assert not set(accepted) & set(refused)
    assert sorted([*accepted, *refused]) == list(range(len(items)))
    assert set(accepted) == {i for i, (_, good) in enumerate(batch) if good}
    assert all(r["errors"] and all(e["field"] for e in r["errors"]) for r in refused.values())
    first_of: dict[int, int] = {}
    for index in sorted(accepted):
        answer = accepted[index]
        if first_of.setdefault(answer["id"], index) == index:
            assert "repeat_of" not in answer
        else:
            assert answer["repeat_of"] == first_of[answer["id"]]
            assert answer["new"] == accepted[first_of[answer["id"]]]["new"]
    new = {a["id"] for a in accepted.values() if a["new"]}
    assert count_actions(bot) == before + len(new)

    again = bot.action({"actions": items})
    assert again.status_code == first.status_code
    assert {a["index"]: a["id"] for a in again.json()["accepted"]} == {
        i: a["id"] for i, a in accepted.items()
    }
    assert not any(a["new"] for a in again.json()["accepted"])
    assert [r["index"] for r in again.json()["refused"]] == sorted(refused)
    assert count_actions(bot) == before + len(new)

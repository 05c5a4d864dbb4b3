"""HubSpot end to end: the running bot (`build_service`, its scheduler on) against a fake
HubSpot and a fake Slack. An MQL becomes a card, a logged call counts, a Slack click is
written back once and counted once, and the signed door wakes the sync at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.app.reports import report
from tests.e2e.conftest import NOW, Bot, running_bot
from tests.fake_hubspot import CLIENT_SECRET, TOKEN, FakeHubspot, fake_hubspot, iso, ms_of

MQL_DATE = "hs_lifecyclestage_marketingqualifiedlead_date"
HUBSPOT = {
    "actions": {"types": ["calls", "emails", "meetings"]},
    "write_back": {"engagement": "call"},
}


@pytest.fixture
def hubspot() -> Iterator[FakeHubspot]:
    with fake_hubspot() as fake:
        fake.at(NOW)
        fake.add_owner("7", "a@example.com")
        yield fake


@pytest.fixture
def bot(database_url: str, hubspot: FakeHubspot) -> Iterator[Bot]:
    env = {
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
        "HUBSPOT_API_URL": hubspot.url,
        "HUBSPOT_CLIENT_SECRET": CLIENT_SECRET,
    }
    # the scheduler runs (hourly): its CRM job syncs at start and when the door wakes it
    with running_bot(
        database_url, env_extra=env, scheduler_interval=3600, crm={"hubspot": HUBSPOT}
    ) as running:
        yield running


def until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def lead_of(bot: Bot, contact: str) -> int | None:
    with bot.engine.connect() as conn:
        found = conn.execute(
            text("SELECT id FROM leads WHERE source = 'hubspot' AND external_id = :e"),
            {"e": contact},
        ).scalar()
    return None if found is None else int(found)


def signed(bot: Bot, body: bytes) -> dict[str, str]:
    stamp = str(int(bot.clock.now().timestamp() * 1000))
    uri = f"{bot.url}/hooks/hubspot"
    digest = hmac.new(
        CLIENT_SECRET.encode(), b"POST" + uri.encode() + body + stamp.encode(), hashlib.sha256
    ).digest()
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": stamp,
    }


def synced(bot: Bot) -> float:
    """How many syncs of HubSpot's contacts finished (the scheduler's, or a woken one)."""
    return float(bot.service.metrics.crm_syncs.labels("hubspot", "contacts", "done")._value.get())


def wake(bot: Bot) -> None:
    """HubSpot's webhook, signed: the sync runs now (once more if one is under way)."""
    body = json.dumps([{"objectId": 1, "subscriptionType": "contact.creation"}]).encode()
    before = synced(bot)
    answer = bot.http.post(f"{bot.url}/hooks/hubspot", content=body, headers=signed(bot, body))
    assert answer.status_code == 200, answer.text
    until(lambda: synced(bot) > before)


def test_hubspot_end_to_end(bot: Bot, hubspot: FakeHubspot) -> None:
    started = hubspot.requests.copy()
    until(lambda: sum(hubspot.requests.values()) > 0)  # the sync at start ran
    # a contact becomes an MQL; the signed webhook wakes the sync: no wait for the poll
    contact = hubspot.contact(
        lifecyclestage="marketingqualifiedlead",
        hubspot_owner_id="7",
        **{MQL_DATE: iso(ms_of(NOW - timedelta(minutes=10)))},
    )
    events = [{"objectId": int(contact), "subscriptionType": "contact.propertyChange"}]
    body = json.dumps(events).encode()
    forged = bot.http.post(
        f"{bot.url}/hooks/hubspot",
        content=body,
        headers={
            **signed(bot, body),
            "X-HubSpot-Signature-v3": base64.b64encode(b"x" * 32).decode(),
        },
    )
    assert forged.status_code == 401
    answer = bot.http.post(f"{bot.url}/hooks/hubspot", content=body, headers=signed(bot, body))
    assert answer.status_code == 200, answer.text
    until(lambda: lead_of(bot, contact) is not None)
    assert started != hubspot.requests
    lead = lead_of(bot, contact)
    assert lead is not None
    bot.wait_card(lead)
    # a second MQL nobody calls, and a call logged in HubSpot on the first, 20 minutes in
    other = hubspot.contact(
        lifecyclestage="marketingqualifiedlead",
        hubspot_owner_id="7",
        **{MQL_DATE: iso(ms_of(NOW - timedelta(minutes=5)))},
    )
    hubspot.at(NOW + timedelta(minutes=20))
    hubspot.engagement(
        "calls",
        (contact,),
        hs_timestamp=iso(ms_of(NOW + timedelta(minutes=20))),
        hubspot_owner_id="7",
        hs_call_status="COMPLETED",
    )
    bot.clock.advance(timedelta(minutes=25))
    wake(bot)
    until(lambda: lead_of(bot, other) is not None)
    second = lead_of(bot, other)
    assert second is not None
    bot.clock.advance(timedelta(hours=2))
    totals = report(bot.engine, bot.settings, "this-week", bot.clock.now(), "enterprise").totals
    assert (totals.handed_off, totals.on_time, totals.ignored) == (2, 1, 1)
    # a Slack click on the ignored one is written back as exactly one call ...
    click = bot.click_payload("UA", "lead.contacted.call", value=str(second))
    assert bot.interact(click).status_code == 200
    assert bot.interact(click).status_code == 200
    until(
        lambda: any(
            c.get("object") == "calls" or "hs_call_body" in json.dumps(c) for c in hubspot.created
        )
    )
    time.sleep(0.3)
    calls = [c for c in hubspot.created if "hs_call_body" in json.dumps(c)]
    assert len(calls) == 1
    assert "[ignorerate]" in json.dumps(calls[0])
    # ... and read back by the next sync without counting twice
    hubspot.advance(60)
    wake(bot)
    read_back = bot.service.metrics.crm_records.labels("hubspot", "written_back")
    until(lambda: float(read_back._value.get()) >= 1)  # the sync saw the call it wrote
    with bot.engine.connect() as conn:
        kinds = conn.execute(
            text("SELECT kind, via FROM actions WHERE lead_id = :l"), {"l": second}
        ).all()
    assert [tuple(k) for k in kinds] == [("contacted", "slack")]
    totals = report(bot.engine, bot.settings, "this-week", bot.clock.now(), "enterprise").totals
    assert (totals.on_time, totals.late, totals.ignored) == (1, 1, 0)

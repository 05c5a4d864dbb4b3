"""The HubSpot adapter through the sync's use case, on both databases, against the fake
HubSpot over real HTTP: what is recorded (leads, actions, cursors, errors) and what the
fake received."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from bot.app.crm import sync
from bot.app.messages import WriteBack
from bot.clock import FixedClock
from bot.config import Settings, parse_settings
from bot.crm.hubspot import HubspotError, HubspotSender, HubspotSource
from bot.outbox.engine import Sending
from metrics.model import ActionKind, NewAction
from storage import crm as store
from storage import repository as repo
from storage.tables import Action, Lead, Rep, Team
from tests.fake_hubspot import CLIENT_SECRET, TOKEN, FakeHubspot, fake_hubspot, iso, ms_of

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # a Monday, 10:00 in Tokyo
MQL = "marketingqualifiedlead"
MQL_DATE = f"hs_lifecyclestage_{MQL}_date"


@pytest.fixture
def fake() -> Iterator[FakeHubspot]:
    with fake_hubspot() as hs:
        hs.at(T0)
        hs.add_owner("7", "a@example.com")
        hs.add_owner("8", "b@example.com")
        yield hs


def settings(fake: FakeHubspot, *, overlap: int = 300, **hubspot: Any) -> Settings:
    raw = {
        "timezone": "Asia/Tokyo",
        "teams": [
            {"name": "ent", "sla": {"minutes": 60}, "reps": ["a@example.com"]},
            {"name": "smb", "sla": {"minutes": 60}, "reps": ["b@example.com"]},
        ],
        "crm": {
            "overlap_seconds": overlap,
            "hubspot": {
                "team_from": {"default": "smb"},
                "actions": {"lead_status": {"UNQUALIFIED": "rejected:not_a_fit"}},
                **hubspot,
            },
        },
    }
    env = {
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
        "HUBSPOT_API_URL": fake.url,
        "HUBSPOT_CLIENT_SECRET": CLIENT_SECRET,
    }
    return parse_settings(raw, "test.yml", env=env)


class Ticker:
    """A monotonic clock that moves only by the waits it is asked for (which it records)."""

    def __init__(self, slept: list[float]) -> None:
        self.slept = slept
        self.t = 0.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

    def monotonic(self) -> float:
        return self.t


def source(s: Settings, slept: list[float] | None = None, **options: Any) -> HubspotSource:
    assert s.crm.hubspot is not None
    ticker = Ticker(slept if slept is not None else [])
    return HubspotSource(
        s.crm.hubspot,
        clock=FixedClock(T0),
        sleep=ticker.sleep,
        monotonic=ticker.monotonic,
        **options,
    )


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def mql(fake: FakeHubspot, owner: str | None = "7", minutes: float = -1, **props: Any) -> str:
    """A contact that became an MQL `minutes` after T0 (its stage date)."""
    base: dict[str, Any] = {"lifecyclestage": MQL, MQL_DATE: iso(ms_of(at(minutes)))}
    if owner is not None:
        base["hubspot_owner_id"] = owner
    return fake.contact(**{**base, **props})


def naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def leads_of(engine: Engine) -> list[tuple[str, datetime, str | None, str]]:
    query = (
        select(Lead.external_id, Lead.handed_off_at, Rep.email, Team.name)
        .join(Team, Team.id == Lead.team_id)
        .outerjoin(Rep, Rep.id == Lead.owner_id)
        .order_by(Lead.external_id)
    )
    with engine.connect() as conn:
        return [(e, naive(h), o, t) for e, h, o, t in conn.execute(query)]


def actions_of(engine: Engine) -> list[tuple[Any, ...]]:
    query = (
        select(Lead.external_id, Action.kind, Action.channel, Action.reason, Action.at, Rep.email)
        .join(Lead, Lead.id == Action.lead_id)
        .outerjoin(Rep, Rep.id == Action.actor_id)
        .order_by(Lead.external_id, Action.at, Action.kind)
    )
    with engine.connect() as conn:
        return [(*r[:4], naive(r[4]), r[5]) for r in conn.execute(query)]


# -- handoffs -----------------------------------------------------------------------------


def test_mql_contacts_are_handed_off_at_their_stage_date_or_when_first_seen(
    engine: Engine, fake: FakeHubspot
) -> None:
    dated = mql(fake, "7", minutes=-30, firstname="Aiko", lastname="Sato", company="ACME")
    went_on = fake.contact(
        lifecyclestage="salesqualifiedlead", hubspot_owner_id="8", **{MQL_DATE: iso(ms_of(at(-20)))}
    )
    undated = fake.contact(lifecyclestage=MQL)  # no stage date, no owner
    fake.contact(lifecyclestage="lead", hubspot_owner_id="7")  # not handed off
    gone_owner = mql(fake, "99", minutes=-10)  # an owner the owners API does not list
    s = settings(fake)
    clock = FixedClock(at(5))
    runs = sync(engine, s, [source(s)], clock)
    assert [r.error for r in runs] == [None, None, None, None]
    assert runs[0].tally.leads_new == 4
    assert leads_of(engine) == sorted(
        [
            (dated, naive(at(-30)), "a@example.com", "ent"),
            (went_on, naive(at(-20)), "b@example.com", "smb"),
            (undated, naive(at(5)), None, "smb"),  # first seen; unassigned
            (gone_owner, naive(at(-10)), None, "smb"),
        ]
    )
    with engine.connect() as conn:
        named = conn.execute(select(Lead.name, Lead.company).where(Lead.external_id == dated))
        assert [tuple(r) for r in named] == [("Aiko Sato", "ACME")]
    # owners are read once a sync at most, not per contact (99 was missed after the read)
    assert fake.requests["owners"] == 1
    searched = fake.searches[0]
    assert searched["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert searched["filterGroups"] == []  # the first sync reads everything
    with engine.connect() as conn:
        cursor = store.cursor(conn, "hubspot", "contacts")
    assert cursor is not None
    assert cursor.replace(tzinfo=UTC) == T0


def test_an_owner_added_later_is_found_by_reading_the_owners_again(
    engine: Engine, fake: FakeHubspot
) -> None:
    s = settings(fake, actions={"types": ["calls"]})
    src = source(s)
    mql(fake, "7")
    sync(engine, s, [src], FixedClock(at(5)))
    fake.add_owner("9", "new@example.com")
    fake.at(at(6))
    newer = mql(fake, "9")
    fake.at(at(7))
    also = mql(fake, "9")
    sync(engine, s, [src], FixedClock(at(8)))
    owners = {lead: owner for lead, _, owner, _ in leads_of(engine)}
    assert owners[newer] == owners[also] == "new@example.com"
    assert fake.requests["owners"] == 2  # the first read, and one more on the miss


def test_a_configured_team_field_and_the_next_sync_filter_on_the_cursor(
    engine: Engine, fake: FakeHubspot
) -> None:
    mql(fake, None, region="APAC")
    s = settings(fake, team_from={"field": "region", "map": {"APAC": "ent"}, "default": "smb"})
    sync(engine, s, [source(s)], FixedClock(at(5)))
    assert [r[3] for r in leads_of(engine)] == ["ent"]
    sync(engine, s, [source(s)], FixedClock(at(6)))
    last = fake.searches[-len(s.crm.hubspot.types) - 1 if s.crm.hubspot else 0]
    assert last["filterGroups"] == [
        {
            "filters": [
                {
                    "propertyName": "lastmodifieddate",
                    "operator": "GTE",
                    "value": str(ms_of(T0 - timedelta(seconds=300))),
                }
            ]
        }
    ]


# -- actions ------------------------------------------------------------------------------


def test_calls_outgoing_emails_and_meetings_count_for_each_associated_contact(
    engine: Engine, fake: FakeHubspot
) -> None:
    a = mql(fake, "7")
    b = mql(fake, "8")
    stranger = fake.contact(lifecyclestage="lead")
    fake.advance(60)
    fake.engagement("calls", (a, b, stranger), hs_timestamp=iso(ms_of(at(2))), hubspot_owner_id="7")
    fake.engagement(
        "emails",
        (a,),
        hs_timestamp=iso(ms_of(at(3))),
        hs_email_direction="EMAIL",
        hubspot_owner_id="8",
    )
    fake.engagement(
        "emails", (b,), hs_timestamp=iso(ms_of(at(3))), hs_email_direction="INCOMING_EMAIL"
    )
    # booked now for tomorrow: it counts when it was booked
    fake.engagement("meetings", (b,), hs_timestamp=iso(ms_of(at(60 * 24))), hubspot_owner_id="8")
    s = settings(fake)
    runs = sync(engine, s, [source(s)], FixedClock(at(10)))
    assert [r.error for r in runs] == [None] * 4
    booked = naive(at(1))
    assert actions_of(engine) == sorted(
        [
            (a, "contacted", "call", None, naive(at(2)), "a@example.com"),
            (a, "contacted", "email", None, naive(at(3)), "b@example.com"),
            (b, "contacted", "call", None, naive(at(2)), "a@example.com"),
            (b, "contacted", "meeting", None, booked, "b@example.com"),
        ],
        key=lambda r: (r[0], r[4], r[1]),
    )
    calls = next(r for r in runs if r.object == "calls")
    assert calls.tally.not_ours == 1  # the stranger is no lead of ours
    assert fake.requests["associations"] == 3  # calls, emails (the outgoing one), meetings


def test_types_not_configured_are_not_read(engine: Engine, fake: FakeHubspot) -> None:
    a = mql(fake, "7")
    fake.engagement("emails", (a,), hs_timestamp=iso(ms_of(at(3))), hs_email_direction="EMAIL")
    fake.engagement("calls", (a,), hs_timestamp=iso(ms_of(at(4))))
    s = settings(fake, actions={"types": ["calls"]})
    runs = sync(engine, s, [source(s)], FixedClock(at(10)))
    assert [r.object for r in runs] == ["contacts", "calls"]
    assert [r[2] for r in actions_of(engine)] == ["call"]
    assert {q["obj"] for q in fake.searches} == {"contacts", "calls"}


def test_a_mapped_lead_status_is_an_action_dated_when_first_seen(
    engine: Engine, fake: FakeHubspot
) -> None:
    a = mql(fake, "7")
    other = mql(fake, "8", hs_lead_status="IN_PROGRESS")  # not mapped
    s = settings(fake)
    sync(engine, s, [source(s)], FixedClock(at(1)))
    fake.at(at(20))
    fake.update(a, {"hs_lead_status": "UNQUALIFIED"})
    sync(engine, s, [source(s)], FixedClock(at(21)))
    fake.at(at(40))
    fake.update(a, {"firstname": "Later"})  # modified again, same status: no second action
    sync(engine, s, [source(s)], FixedClock(at(41)))
    assert actions_of(engine) == [
        (a, "rejected", None, "not_a_fit", naive(at(20)), "a@example.com"),
    ]
    assert other not in {r[0] for r in actions_of(engine)}


def test_a_call_the_bot_wrote_is_not_counted(engine: Engine, fake: FakeHubspot) -> None:
    a = mql(fake, "7")
    fake.engagement(
        "calls",
        (a,),
        hs_timestamp=iso(ms_of(at(2))),
        hs_call_body="<p>[ignorerate] #12: contacted:call</p>",
    )
    s = settings(fake)
    runs = sync(engine, s, [source(s)], FixedClock(at(10)))
    assert actions_of(engine) == []
    assert next(r for r in runs if r.object == "calls").tally.written_back == 1


# -- paging, the cap, the lag -------------------------------------------------------------


def test_after_paging_reads_every_page_once_and_moves_the_cursor_per_page(
    engine: Engine, fake: FakeHubspot
) -> None:
    ids = []
    for i in range(7):
        fake.at(at(i))
        ids.append(mql(fake, "7"))
    s = settings(fake, actions={"types": ["calls"]})
    runs = sync(engine, s, [source(s, page_size=3)], FixedClock(at(10)))
    assert runs[0].tally.pages == 3
    assert runs[0].tally.leads_new == 7
    contact_searches = [q for q in fake.searches if q["obj"] == "contacts"]
    assert [q.get("after") for q in contact_searches] == [None, "3", "6"]
    assert all(q["limit"] == 3 for q in contact_searches)
    with engine.connect() as conn:
        assert store.cursor(conn, "hubspot", "contacts") is not None
    assert sorted(r[0] for r in leads_of(engine)) == sorted(ids)


def test_a_window_over_the_cap_is_split_and_loses_or_doubles_nothing(
    engine: Engine, fake: FakeHubspot
) -> None:
    fake.cap = 10
    ids = []
    for i in range(40):
        # many contacts share a modification time: the split reads those by id
        props = {"lifecyclestage": MQL, MQL_DATE: iso(ms_of(at(-5)))}
        ids.append(fake.add("contacts", props, modified=at(i // 8)))
    s = settings(fake, actions={"types": ["calls"]})
    src = source(s, page_size=4, search_cap=10)
    seen = [c.crm_id for p in src.pages("contacts", None, at(30)) for c in p.leads]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    runs = sync(engine, s, [source(s, page_size=4, search_cap=10)], FixedClock(at(30)))
    assert runs[0].error is None
    assert runs[0].tally.leads_new == 40
    # no request paged past the cap
    assert all(int(q.get("after") or 0) < 10 for q in fake.searches)
    assert any(
        f["propertyName"] == "hs_object_id"
        for q in fake.searches
        for g in q["filterGroups"]
        for f in g["filters"]
    )


@given(
    times=st.lists(st.integers(0, 5), min_size=0, max_size=40),
    page=st.integers(1, 7),
    extra=st.integers(0, 12),
)
def test_any_page_size_and_cap_read_the_same_records_once(
    fake: FakeHubspot, times: list[int], page: int, extra: int
) -> None:
    """Property: whatever the page size and cap (at least a page), a full read yields
    every record exactly once, in modification order."""
    fake.reset()
    fake.cap = page + extra
    stamp = iso(ms_of(T0))
    ids = [
        fake.add("calls", {"hs_timestamp": stamp}, contacts=("1",), modified=at(t)) for t in times
    ]
    s = settings(fake, actions={"types": ["calls"]})
    src = source(s, page_size=page, search_cap=page + extra)
    seen: list[str] = []
    cursor: datetime | None = None
    for p in src.pages("calls", None, at(30)):
        seen += [a.crm_id for a in p.activities]
        assert p.records == len(p.activities)
        assert p.until is not None
        assert cursor is None or p.until >= cursor  # the cursor never moves back
        cursor = p.until
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


def test_a_write_that_shows_late_in_search_is_read_by_the_next_sync_thanks_to_the_overlap(
    engine: Engine, fake: FakeHubspot
) -> None:
    a = mql(fake, "7")
    s = settings(fake, actions={"types": ["calls"]})
    sync(engine, s, [source(s)], FixedClock(at(0.1)))
    fake.at(at(1))
    fake.index_delay = 30  # this write shows in search 30 s later...
    slow = fake.engagement("calls", (a,), hs_timestamp=iso(ms_of(at(1))))
    fake.index_delay = 0
    fake.at(at(1) + timedelta(seconds=5))  # ...than this one, modified after it
    fake.engagement("calls", (a,), hs_timestamp=iso(ms_of(at(1))))
    runs = sync(engine, s, [source(s)], FixedClock(fake.now))
    assert runs[1].tally.actions_new == 1
    with engine.connect() as conn:
        cursor = store.cursor(conn, "hubspot", "calls")
    assert cursor is not None
    assert cursor.replace(tzinfo=UTC) > at(1)  # past the slow write's modification time
    fake.advance(60)
    runs = sync(engine, s, [source(s)], FixedClock(fake.now))
    assert runs[1].tally.actions_new == 1  # the slow one, re-read inside the overlap
    keys = {r[0].split(":")[1] for r in rows(engine, "SELECT idempotency_key FROM actions")}
    assert slow in keys
    assert len(keys) == 2


# -- limits and failures ------------------------------------------------------------------


def test_a_secondly_429_waits_then_succeeds(engine: Engine, fake: FakeHubspot) -> None:
    mql(fake, "7")
    fake.fail("search", "429:SECONDLY", times=2, retry_after=2)
    s = settings(fake, actions={"types": ["calls"]})
    slept: list[float] = []
    runs = sync(engine, s, [source(s, slept)], FixedClock(at(5)))
    assert [r.error for r in runs] == [None, None]
    assert slept.count(2.0) == 2
    assert len(leads_of(engine)) == 1


def test_search_is_paced_under_the_limit(engine: Engine, fake: FakeHubspot) -> None:
    for i in range(5):
        fake.at(at(i))
        mql(fake, "7")
    s = settings(fake, actions={"types": ["calls"]})
    slept: list[float] = []
    sync(engine, s, [source(s, slept, page_size=1, search_per_second=4)], FixedClock(at(10)))
    searches = len(fake.searches)
    assert searches == 6  # five contacts' pages and one (empty) call search
    assert slept == [0.25] * (searches - 1)  # no time passed but the waits: each was waited


def test_a_daily_429_stops_the_sync_with_a_stored_error(engine: Engine, fake: FakeHubspot) -> None:
    mql(fake, "7")
    fake.fail("search", "429:DAILY")
    s = settings(fake)
    slept: list[float] = []
    runs = sync(engine, s, [source(s, slept)], FixedClock(at(5)))
    assert len(runs) == 1
    assert runs[0].error is not None
    assert "daily" in runs[0].error
    assert slept == []  # no waiting for tomorrow
    with engine.connect() as conn:
        (state,) = store.cursors(conn, "hubspot")
    assert state.errors == 1
    assert state.last_error == runs[0].error
    assert leads_of(engine) == []


def test_server_errors_are_retried_with_backoff_then_stored(
    engine: Engine, fake: FakeHubspot
) -> None:
    mql(fake, "7")
    fake.fail("search", "500", times=2)
    s = settings(fake, actions={"types": ["calls"]})
    slept: list[float] = []
    runs = sync(engine, s, [source(s, slept)], FixedClock(at(5)))
    assert [r.error for r in runs] == [None, None]
    assert slept == [1.0, 2.0, 0.25]  # backoff, backoff, then the pace of the next search
    fake.fail("search", "500", times=5)
    runs = sync(engine, s, [source(s, slept)], FixedClock(at(6)))
    assert runs[0].error is not None
    assert "500" in runs[0].error
    assert fake.requests["search"] == 4 + 5  # 3 + 1 in the first sync; 5 tries, no more


def test_a_wrong_token_is_refused_and_named_without_the_token(
    engine: Engine, fake: FakeHubspot
) -> None:
    fake.token = "pat-another-token"
    s = settings(fake)
    runs = sync(engine, s, [source(s)], FixedClock(at(5)))
    assert runs[0].error is not None
    assert "401" in runs[0].error
    assert "HUBSPOT_ACCESS_TOKEN" in runs[0].error
    assert TOKEN not in runs[0].error
    assert fake.requests["unauthorized"] == 1  # no retry of a refused token


# -- write-back ---------------------------------------------------------------------------


def click(engine: Engine, contact: str, minutes: float, actor: str = "a@example.com") -> int:
    with engine.begin() as conn:
        lead_id = conn.execute(select(Lead.id).where(Lead.external_id == contact)).scalar_one()
        (action_id,) = repo.add_actions(
            conn,
            [
                NewAction(
                    lead_id=lead_id,
                    at=at(minutes),
                    kind=ActionKind.CONTACTED,
                    idempotency_key=f"slack:{contact}:{minutes}",
                    via="slack",
                    channel="call",
                    actor_email=actor,
                )
            ],
            at(minutes),
        )
    return action_id


def sending(action_id: int) -> Sending:
    return Sending(f"crm:{action_id}", "hubspot", lambda _channel: None)


@pytest.mark.parametrize("kind", ["call", "note"])
def test_write_back_creates_one_engagement_even_if_sent_twice_and_is_not_read_back(
    engine: Engine, fake: FakeHubspot, kind: str
) -> None:
    a = mql(fake, "7")
    s = settings(fake, write_back={"engagement": kind})
    assert s.crm.hubspot is not None
    sync(engine, s, [source(s)], FixedClock(at(1)))
    action_id = click(engine, a, 3)
    fake.at(at(4))
    sender = HubspotSender(engine, s.crm.hubspot, clock=FixedClock(at(4)), sleep=lambda _: None)
    created = sender.send(WriteBack(action_id), sending(action_id))
    fake.advance(130)  # a redelivery comes after the outbox's lease
    again = sender.send(WriteBack(action_id), sending(action_id))
    assert again == created
    assert len(fake.created) == 1
    (made,) = fake.created
    body = made["properties"]["hs_call_body" if kind == "call" else "hs_note_body"]
    assert body.startswith(f"[ignorerate] #{action_id}:")
    assert made["properties"]["hs_timestamp"] == str(ms_of(at(3)))
    assert made["properties"]["hubspot_owner_id"] == "7"
    assert made["associations"] == [
        {
            "to": {"id": a},
            "types": [
                {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": 194 if kind == "call" else 202,
                }
            ],
        }
    ]
    if kind == "call":
        assert made["properties"]["hs_call_status"] == "COMPLETED"
    with engine.connect() as conn:
        assert store.written(conn, "hubspot", [created]) == {created}
    before = len(actions_of(engine))
    runs = sync(engine, s, [source(s)], FixedClock(fake.now))
    assert len(actions_of(engine)) == before
    if kind == "call":
        assert next(r for r in runs if r.object == "calls").tally.written_back == 1


def test_write_back_refusals(engine: Engine, fake: FakeHubspot) -> None:
    a = mql(fake, "7")
    s = settings(fake, write_back={"engagement": "call"})
    assert s.crm.hubspot is not None
    sync(engine, s, [source(s)], FixedClock(at(1)))
    action_id = click(engine, a, 3)
    sender = HubspotSender(engine, s.crm.hubspot, clock=FixedClock(at(4)), sleep=lambda _: None)
    fake.fail("search", "429:SECONDLY", retry_after=7)
    with pytest.raises(HubspotError) as limited:
        sender.send(WriteBack(action_id), sending(action_id))
    refusal = sender.refusal(limited.value)
    assert refusal is not None
    assert refusal.wait == timedelta(seconds=7)
    fake.fail("create", "500")
    with pytest.raises(HubspotError) as failed:
        sender.send(WriteBack(action_id), sending(action_id))
    refusal = sender.refusal(failed.value)
    assert refusal is not None, repr(failed.value)
    assert (refusal.wait, refusal.permanent) == (None, False)
    # a contact HubSpot does not have: a validation error no retry mends
    fake.records.pop(a)
    with pytest.raises(HubspotError) as invalid:
        sender.send(WriteBack(action_id), sending(action_id))
    refusal = sender.refusal(invalid.value)
    assert refusal is not None
    assert refusal.permanent
    assert "VALIDATION_ERROR" in refusal.error
    assert fake.created == []


# -- secrets ------------------------------------------------------------------------------


def test_the_token_and_client_secret_are_never_logged(
    engine: Engine, fake: FakeHubspot, caplog: pytest.LogCaptureFixture
) -> None:
    a = mql(fake, "7")
    fake.engagement("calls", (a,), hs_timestamp=iso(ms_of(at(2))))
    s = settings(fake, write_back={"engagement": "call"})
    assert s.crm.hubspot is not None
    src = source(s)
    sender = HubspotSender(engine, s.crm.hubspot, clock=FixedClock(at(4)), sleep=lambda _: None)
    # after the client is built: it sets its loggers' levels when configured
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "hubspot", "hubspot.crm.objects", "bot"):
        caplog.set_level(logging.DEBUG, logger=name)
    fake.fail("search", "429:SECONDLY", retry_after=1)
    fake.fail("owners", "500")
    sync(engine, s, [src], FixedClock(at(5)))
    action_id = click(engine, a, 6)
    sender.send(WriteBack(action_id), sending(action_id))
    fake.token = "other"
    sync(engine, s, [source(s)], FixedClock(at(7)))
    assert caplog.records  # the capture worked
    assert TOKEN not in caplog.text
    assert CLIENT_SECRET not in caplog.text
    assert TOKEN not in repr(s.crm.hubspot)

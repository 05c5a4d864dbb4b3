"""The Salesforce adapter through the sync use case, on both databases, against a fake
Salesforce over HTTPS that the real simple-salesforce client talks to: what is recorded
(leads, actions, cursors, budget) and what the fake received."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from bot.app.clicks import act
from bot.app.crm import CrmError, TimeFrom, sync
from bot.app.messages import WriteBack
from bot.clock import FixedClock
from bot.config import Settings, parse_settings
from bot.crm.salesforce import SalesforceSender, SalesforceSource, condition_field
from bot.outbox.engine import Outbox, Sending
from metrics.clicks import Click
from metrics.model import ActionKind, ContactChannel
from storage import crm as store
from tests.fake_salesforce import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeSalesforce,
    fake_salesforce,
    make_keys,
)

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # a Monday, 10:00 in Tokyo
REP = "a@example.com"
MQL = "Marketing Qualified"


@dataclass
class Rig:
    fake: FakeSalesforce
    env: dict[str, str]
    rep: str  # the rep's user id
    sleeps: list[float] = field(default_factory=list)
    made: list[SalesforceSource | SalesforceSender] = field(default_factory=list)

    def settings(self, **salesforce: Any) -> Settings:
        raw = {
            "timezone": "Asia/Tokyo",
            "teams": [
                {"name": "ent", "sla": {"minutes": 60}, "reps": [REP], "slack_channel": "C1"},
                {"name": "smb", "sla": {"minutes": 60}, "reps": ["b@example.com"]},
            ],
            "crm": {
                "salesforce": {
                    "handoff": {"when": f"Status = '{MQL}'", "at": "MQL_Date__c"},
                    "team_from": {"default": "smb"},
                    **salesforce,
                }
            },
        }
        return parse_settings(raw, "test.yml", env=self.env)

    def source(self, s: Settings) -> SalesforceSource:
        assert s.crm.salesforce is not None
        source = SalesforceSource(
            s.crm.salesforce, clock=FixedClock(self.fake.now), sleep=self.sleeps.append
        )
        self.made.append(source)
        return source

    def sender(self, engine: Engine, s: Settings, clock: FixedClock) -> SalesforceSender:
        assert s.crm.salesforce is not None
        sender = SalesforceSender(engine, s.crm.salesforce, clock=clock, sleep=self.sleeps.append)
        self.made.append(sender)
        return sender

    def sync(self, engine: Engine, s: Settings, at: datetime | None = None) -> list[Any]:
        clock = FixedClock(at or self.fake.now)
        return sync(engine, s, [self.source(s)], clock)

    def lead(self, *, status: str = MQL, owner: str | None = None, **fields: Any) -> str:
        lead_id = self.fake.add_lead(owner or self.rep)
        self.fake.update("Lead", lead_id, by=owner or self.rep, Status=status, **fields)
        return lead_id


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    keys = make_keys(tmp_path)
    with fake_salesforce(tmp_path, keys.public_key) as (fake, ca_file):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
        fake.page_size = 3
        fake.now = T0
        fake.add_field("Lead", "MQL_Date__c")
        rep = fake.add_user(REP, username="integration@example.com")
        env = {
            "SALESFORCE_CLIENT_ID": CLIENT_ID,
            "SALESFORCE_USERNAME": "integration@example.com",
            "SALESFORCE_PRIVATE_KEY_FILE": str(keys.private_key_file),
            "SALESFORCE_LOGIN_URL": fake.base_url,
        }
        made = Rig(fake, env, rep)
        yield made
        for part in made.made:
            part.close()


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def actions(engine: Engine) -> list[Any]:
    return rows(
        engine,
        "SELECT l.external_id, a.kind, a.channel, a.reason, a.at, r.email FROM actions a "
        "JOIN leads l ON l.id = a.lead_id LEFT JOIN reps r ON r.id = a.actor_id "
        "ORDER BY l.external_id, a.at, a.kind, a.channel",
    )


def naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def at_of(value: Any) -> datetime:
    """A stored time (whole seconds since the epoch, as storage keeps them), as UTC."""
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_the_handoff_time_comes_from_the_field_the_history_or_the_first_sight(
    rig: Rig, engine: Engine
) -> None:
    fake = rig.fake
    mql_date = T0 - timedelta(minutes=30)
    by_field = rig.lead(MQL_Date__c=mql_date)
    fake.now = T0 + timedelta(minutes=5)
    by_history = rig.lead()  # Status set to MQL at T0+5m: a LeadHistory row
    fake.now = T0 + timedelta(minutes=10)
    first_seen = rig.lead()
    fake.records["LeadHistory"] = {
        k: v for k, v in fake.records["LeadHistory"].items() if v["LeadId"] != first_seen
    }
    not_yet = rig.lead(status="Open - Not Contacted")
    s = rig.settings()
    seen = T0 + timedelta(minutes=20)
    source = rig.source(s)
    (page,) = source.pages("Lead", None, seen)
    got = {lead.crm_id: (lead.time_from, lead.handed_off_at) for lead in page.leads}
    assert got == {
        by_field: (TimeFrom.FIELD, mql_date),
        by_history: (TimeFrom.HISTORY, T0 + timedelta(minutes=5)),
        first_seen: (TimeFrom.FIRST_SEEN, seen),
    }
    runs = rig.sync(engine, s, seen)
    assert runs[0].tally.leads_new == 3
    stored = dict(rows(engine, "SELECT external_id, handed_off_at FROM leads"))
    assert {k: at_of(v) for k, v in stored.items()} == {k: v[1] for k, v in got.items()}
    assert not_yet not in stored
    # the team from the owner, the owner by email, the name, company and campaign
    (lead,) = rows(
        engine,
        "SELECT t.name, r.email, l.company, l.campaign FROM leads l JOIN teams t "  # noqa: S608
        "ON t.id = l.team_id LEFT JOIN reps r ON r.id = l.owner_id "
        f"WHERE external_id = '{by_field}'",
    )
    assert lead == ("ent", REP, "Acme", "Web")


def test_a_lead_owned_by_a_queue_is_unassigned(rig: Rig, engine: Engine) -> None:
    queue = rig.fake.add_queue("Inbound", email="inbound@example.com")
    lead_id = rig.lead(owner=queue)
    rig.sync(engine, rig.settings(), T0 + timedelta(minutes=1))
    got = rows(
        engine,
        "SELECT l.owner_id, t.name FROM leads l JOIN teams t ON t.id = l.team_id "  # noqa: S608
        f"WHERE external_id = '{lead_id}'",
    )
    assert got == [(None, "smb")]  # no owner: team_from's default


def test_tasks_by_configured_subtype_events_statuses_and_conversion_count(
    rig: Rig, engine: Engine
) -> None:
    fake = rig.fake
    s = rig.settings(
        actions={
            "tasks": {"subtypes": ["Call", "Email"]},
            "status": {
                "Working - Contacted": "contacted:other",
                "Unqualified": "rejected:not_a_fit",
            },
        }
    )
    called, mailed, met, worked, lost, converted = (rig.lead() for _ in range(6))
    rig.sync(engine, s)  # handed off while Status is MQL
    fake.now = T0 + timedelta(minutes=5)
    fake.log_task(called, rig.rep, "Call")
    fake.log_task(called, rig.rep, "Call", status="Not Started")  # open: not done yet
    fake.log_task(mailed, rig.rep, "ListEmail")  # a subtype not configured
    fake.now = T0 + timedelta(minutes=7)
    fake.log_task(mailed, rig.rep, "Email")
    fake.log_event(met, rig.rep, starts=T0 + timedelta(days=3))  # booked now, held later
    fake.now = T0 + timedelta(minutes=9)
    fake.update("Lead", worked, by=rig.rep, Status="Working - Contacted")
    fake.update("Lead", lost, by=rig.rep, Status="Unqualified")
    fake.now = T0 + timedelta(minutes=11)
    fake.convert(converted, by=rig.rep)
    runs = rig.sync(engine, s, T0 + timedelta(minutes=15))
    assert [r.error for r in runs] == [None] * 4
    assert [r.object for r in runs] == ["Lead", "Lead:changes", "Task", "Event"]
    m = {k: naive(T0 + timedelta(minutes=k)) for k in (5, 7, 9, 11)}
    got = [(ld, k, c, r, naive(at_of(a)), e) for ld, k, c, r, a, e in actions(engine)]
    assert sorted(got) == sorted(
        [
            (called, "contacted", "call", None, m[5], REP),
            (mailed, "contacted", "email", None, m[7], REP),
            (met, "contacted", "meeting", None, m[7], REP),
            (worked, "contacted", "other", None, m[9], REP),
            (lost, "rejected", None, "not_a_fit", m[9], REP),
            (converted, "contacted", "other", None, m[11], REP),
        ]
    )


def test_pages_follow_next_records_url_and_a_re_read_changes_nothing(
    rig: Rig, engine: Engine
) -> None:
    fake = rig.fake
    leads = []
    for i in range(7):
        fake.now = T0 + timedelta(seconds=i)
        leads.append(rig.lead())
        fake.log_task(leads[-1], rig.rep)
    s = rig.settings()
    fake.now = T0 + timedelta(minutes=1)
    runs = rig.sync(engine, s)
    assert runs[0].tally.pages == 3  # 3 + 3 + 1
    assert runs[0].tally.leads_new == 7
    assert runs[2].tally.actions_new == 7
    assert fake.requests["query_more"] >= 4
    with engine.connect() as conn:
        cursor = store.cursor(conn, "salesforce", "Lead")
    assert cursor is not None
    assert at_of(cursor) == T0 + timedelta(seconds=6)
    before = actions(engine)
    again = rig.sync(engine, s)  # from each cursor less the overlap: all of it again
    assert again[0].tally.leads_new == 0
    assert again[0].tally.leads_known == 7
    assert again[2].tally.actions_known == 7
    assert actions(engine) == before
    assert len(rows(engine, "SELECT id FROM leads")) == 7


def test_a_merged_lead_keeps_its_actions(rig: Rig, engine: Engine) -> None:
    fake = rig.fake
    s = rig.settings()
    loser = rig.lead()
    master = rig.lead()
    fake.now = T0 + timedelta(minutes=5)
    fake.log_task(loser, rig.rep)
    rig.sync(engine, s)
    fake.now = T0 + timedelta(minutes=10)
    fake.merge(master, loser)
    runs = rig.sync(engine, s)
    assert [r.error for r in runs] == [None] * 4
    got = [(ld, k, r) for ld, k, _c, r, _a, _e in actions(engine)]
    assert sorted(got) == [
        (loser, "contacted", None),
        (loser, "excluded", "duplicate"),
        (master, "contacted", None),
    ]
    # a task later logged on the master counts once, for the master
    fake.now = T0 + timedelta(minutes=12)
    fake.log_task(master, rig.rep)
    rig.sync(engine, s)
    on_master = [a for a in actions(engine) if a[0] == master]
    assert len(on_master) == 2


def test_a_deleted_lead_changes_nothing_counted(rig: Rig, engine: Engine) -> None:
    fake = rig.fake
    s = rig.settings()
    lead_id = rig.lead()
    rig.sync(engine, s)
    fake.now = T0 + timedelta(minutes=5)
    fake.delete("Lead", lead_id)
    runs = rig.sync(engine, s)
    assert runs[1].tally.records == 1  # read through queryAll
    assert fake.requests["queryAll"] >= 2
    assert actions(engine) == []
    assert len(rows(engine, "SELECT id FROM leads")) == 1


def test_an_expired_session_logs_in_again_once(rig: Rig, engine: Engine) -> None:
    fake = rig.fake
    s = rig.settings()
    rig.lead()
    fake.expire_tokens()
    fake.fail("session")  # the first call is refused, the login (a fresh token) too old
    runs = rig.sync(engine, s)
    assert [r.error for r in runs] == [None] * 4
    assert fake.requests["token"] == 2
    # refused again right after a new login: a clean error, the cursor stays
    fresh = rig.settings()
    fake.fail("session", 2)
    with engine.begin() as conn:
        store.rewind(conn, "salesforce", "Lead", None)
    second = sync(engine, fresh, [rig.source(fresh)], FixedClock(fake.now))
    assert second[0].error is not None
    assert "refused again after a new login" in second[0].error
    assert len(second) == 1
    with engine.connect() as conn:
        state = next(c for c in store.cursors(conn) if c.object == "Lead")
    assert state.cursor_at is None
    assert state.last_error == second[0].error


def test_request_limit_exceeded_backs_off_then_succeeds_or_gives_up(
    rig: Rig, engine: Engine
) -> None:
    fake = rig.fake
    s = rig.settings()
    rig.lead()
    fake.fail("limit", 2)
    fake.fail("503")
    runs = rig.sync(engine, s)
    assert [r.error for r in runs] == [None] * 4
    assert rig.sleeps == [2.0, 4.0, 8.0]
    rig.sleeps.clear()
    fake.fail("limit", 50)
    fake.now = T0 + timedelta(minutes=1)
    rig.lead()
    failed = rig.sync(engine, s)
    assert failed[0].error is not None
    assert "REQUEST_LIMIT_EXCEEDED after 5 tries" in failed[0].error
    assert rig.sleeps == [2.0, 4.0, 8.0, 16.0]
    assert len(rows(engine, "SELECT id FROM leads")) == 1
    with engine.connect() as conn:
        state = next(c for c in store.cursors(conn) if c.object == "Lead")
    assert state.errors == 1
    assert state.last_error == failed[0].error


def test_the_sync_stops_at_the_budgets_headroom(rig: Rig, engine: Engine) -> None:
    fake = rig.fake
    fake.api_used, fake.api_max = 89_000, 100_000
    rig.lead()
    s = rig.settings(api_headroom_percent=10)
    runs = rig.sync(engine, s)
    assert [r.error for r in runs] == [None] * 4  # 11,000 left: above the headroom
    with engine.connect() as conn:
        (budget,) = store.budgets(conn)
    assert budget.max == 100_000
    assert 89_000 < budget.used <= fake.api_used
    fake.api_used = 90_000
    calls = sum(fake.requests.values())
    stopped = rig.sync(engine, s)
    # the first query learns the budget (9,999 left); nothing more is spent
    assert stopped[0].error is not None
    assert "api_headroom_percent" in stopped[0].error
    assert len(stopped) == 1
    assert sum(fake.requests.values()) == calls + 2  # a login and the one query


def _click(engine: Engine, s: Settings, lead_external: str, kind: ActionKind, **more: Any) -> None:
    (lead_id,) = rows(engine, f"SELECT id FROM leads WHERE external_id = '{lead_external}'")[0]  # noqa: S608
    click = Click(
        lead_id=lead_id,
        actor_email=REP,
        kind=kind,
        at=T0 + timedelta(minutes=3),
        key=f"test:{lead_external}:{kind}",
        via="slack",
        **more,
    )
    act(engine, s, click, T0 + timedelta(minutes=3))


def test_a_click_writes_back_one_task_and_the_status_never_read_back(
    rig: Rig, engine: Engine
) -> None:
    fake = rig.fake
    working = "Working - Contacted"
    s = rig.settings(
        write_back={"task": True, "status": working},
        actions={"status": {working: "contacted:other"}},
    )
    lead_id = rig.lead()
    rig.sync(engine, s)
    _click(engine, s, lead_id, ActionKind.CONTACTED, channel=ContactChannel.CALL)
    assert s.crm.salesforce is not None
    clock = FixedClock(T0 + timedelta(minutes=4))
    sender = rig.sender(engine, s, clock)
    outbox = Outbox(engine, s, sender, clock=clock)
    assert outbox.run_once() == 1
    (task,) = fake.tasks_created()
    assert task["WhoId"] == lead_id
    assert task["TaskSubtype"] == "Call"
    assert task["Status"] == "Completed"
    assert task["Subject"] == "Contacted (call) via ignorerate"
    assert task["Description"].startswith("[ignorerate] action ")
    assert fake.updated == [("Lead", lead_id, {"Status": working})]
    # the outbox delivers again (a crash before it marked the row sent): no second Task
    (message_row,) = rows(engine, "SELECT key FROM outbox WHERE key LIKE 'crm:%'")
    action_id = int(message_row[0].split(":")[1])
    again = sender.send(WriteBack(action_id), Sending(message_row[0], "", lambda _t: None))
    assert len(fake.tasks_created()) == 1
    assert again == next(iter(k for k in fake.records["Task"]))
    # the next sync reads the Task and the Status and counts neither
    fake.now = T0 + timedelta(minutes=6)
    runs = rig.sync(engine, s)
    assert sum(r.tally.written_back for r in runs) == 2
    assert sum(r.tally.actions_new for r in runs) == 0
    assert [(a[0], a[1], a[2]) for a in actions(engine)] == [(lead_id, "contacted", "call")]


def test_a_rejection_writes_back_a_task_and_a_deleted_lead_is_refused_for_good(
    rig: Rig, engine: Engine
) -> None:
    fake = rig.fake
    s = rig.settings(write_back={"task": True})
    lead_id = rig.lead()
    gone = rig.lead()
    rig.sync(engine, s)
    _click(engine, s, lead_id, ActionKind.REJECTED, reason="not_a_fit")
    _click(engine, s, gone, ActionKind.CONTACTED, channel=ContactChannel.EMAIL)
    fake.delete("Lead", gone)
    assert s.crm.salesforce is not None
    clock = FixedClock(T0 + timedelta(minutes=4))
    sender = rig.sender(engine, s, clock)
    fake.fail("limit")  # the first try: a retry, not the end
    outbox = Outbox(engine, s, sender, clock=clock)
    outbox.run_once()
    later = FixedClock(T0 + timedelta(hours=1))
    Outbox(engine, s, rig.sender(engine, s, later), clock=later).run_once()
    (task,) = fake.tasks_created()
    assert task["Subject"] == "Rejected: not_a_fit (ignorerate)"
    assert task["TaskSubtype"] == "Task"
    dead = rows(engine, "SELECT last_error FROM outbox WHERE status = 'dead'")
    assert len(dead) == 1
    assert "ENTITY_IS_DELETED" in dead[0][0]


def test_client_credentials_and_no_secret_in_logs_or_errors(
    rig: Rig, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    fake = rig.fake
    key_text = Path(rig.env["SALESFORCE_PRIVATE_KEY_FILE"]).read_text()
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "simple_salesforce", "requests", "bot", "uvicorn"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    rig.lead()
    jwt_runs = rig.sync(engine, rig.settings())
    assert [r.error for r in jwt_runs] == [None] * 4
    rig.env = {
        "SALESFORCE_CLIENT_ID": CLIENT_ID,
        "SALESFORCE_CLIENT_SECRET": CLIENT_SECRET,
        "SALESFORCE_LOGIN_URL": fake.base_url,
    }
    fake.now = T0 + timedelta(minutes=1)
    rig.lead()
    fake.fail("session")
    runs = rig.sync(engine, rig.settings())
    assert [r.error for r in runs] == [None] * 4
    assert fake.requests["token"] == 3
    fake.client_secret = "rotated-secret"
    fake.expire_tokens()
    failed = rig.sync(engine, rig.settings())
    assert failed[0].error is not None
    assert "invalid_client" in failed[0].error
    secrets = [CLIENT_SECRET, *(a.removeprefix("Bearer ") for a in fake.seen_authorization if a)]
    secrets += [line for line in key_text.splitlines() if "-----" not in line]
    stored = " ".join(str(r) for r in rows(engine, "SELECT last_error FROM crm_cursors"))
    assert "invalid_client" in stored
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in stored
    assert "assertion" not in caplog.text


def test_a_missing_key_file_is_a_clean_error(rig: Rig, engine: Engine) -> None:
    rig.env["SALESFORCE_PRIVATE_KEY_FILE"] = "/nonexistent/salesforce.key"
    runs = rig.sync(engine, rig.settings())
    assert runs[0].error is not None
    assert "SALESFORCE_PRIVATE_KEY_FILE" in runs[0].error
    assert isinstance(CrmError(runs[0].error), CrmError)


@pytest.mark.parametrize(
    ("when", "found"),
    [
        ("Status = 'Marketing Qualified'", ("Status", "Marketing Qualified")),
        ("  Rating='Hot' ", ("Rating", "Hot")),
        ("Status = 'It\\'s hot'", ("Status", "It's hot")),
        ("MQL_Date__c != null", None),
        ("Status = 'A' AND Rating = 'Hot'", None),
    ],
)
def test_only_a_simple_condition_names_a_history_field(
    when: str, found: tuple[str, str] | None
) -> None:
    assert condition_field(when) == found


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FakeSalesforce, dict[str, str], str]]:
    directory = tmp_path_factory.mktemp("sf")
    keys = make_keys(directory)
    with fake_salesforce(directory, keys.public_key) as (fake, ca_file):
        fake.now = T0
        rep = fake.add_user(REP, username="integration@example.com")
        for i in range(9):
            fake.now = T0 + timedelta(seconds=i // 2)  # ties on SystemModstamp too
            lead_id = fake.add_lead(rep)
            fake.update("Lead", lead_id, by=rep, Status=MQL)
            fake.log_task(lead_id, rep)
            if i % 3 == 0:
                fake.log_event(lead_id, rep)
        env = {
            "SALESFORCE_CLIENT_ID": CLIENT_ID,
            "SALESFORCE_USERNAME": "integration@example.com",
            "SALESFORCE_PRIVATE_KEY_FILE": str(keys.private_key_file),
            "SALESFORCE_LOGIN_URL": fake.base_url,
            "REQUESTS_CA_BUNDLE": str(ca_file),
        }
        yield fake, env, rep


@hsettings(max_examples=12)
@given(page_size=st.integers(min_value=1, max_value=12))
def test_any_page_size_reads_the_same_records_in_order(
    shared: tuple[FakeSalesforce, dict[str, str], str], page_size: int
) -> None:
    fake, env, _rep = shared
    fake.page_size = page_size
    s = parse_settings(
        {
            "timezone": "Asia/Tokyo",
            "teams": [{"name": "ent", "sla": {"minutes": 60}, "reps": [REP]}],
            "crm": {"salesforce": {"handoff": {"when": f"Status = '{MQL}'"}}},
        },
        "test.yml",
        env=env,
    )
    assert s.crm.salesforce is not None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", env["REQUESTS_CA_BUNDLE"])
        source = SalesforceSource(s.crm.salesforce, clock=FixedClock(T0))
        read: dict[str, list[str]] = {}
        try:
            for obj in source.objects():
                pages = list(source.pages(obj, None, T0 + timedelta(minutes=1)))
                assert all(p.records <= page_size for p in pages)
                untils = [p.until for p in pages if p.until is not None]
                assert len(untils) == len(pages)
                assert untils == sorted(untils)  # the cursor only moves forward
                read[obj] = [lead.crm_id for p in pages for lead in p.leads] + [
                    a.crm_id for p in pages for a in p.activities
                ]
        finally:
            source.close()
    assert len(read["Lead"]) == 9
    assert len(set(read["Task"])) == 9
    assert len(read["Event"]) == 3
    assert read["Lead"] == sorted(read["Lead"])  # SystemModstamp, then Id

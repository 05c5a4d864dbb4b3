"""The CRM sync's use case on both databases, with a source that replays pages written
here: what a page records, what a re-read, a merge, a write-back and a failure do."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from bot.app.crm import (
    CrmActivity,
    CrmError,
    CrmLead,
    Merge,
    Page,
    TimeFrom,
    sync,
)
from bot.app.teams import team_ids
from bot.clock import FixedClock
from bot.config import Settings, parse_settings
from bot.crmconfig import CrmKind
from metrics.model import ActionKind
from storage import crm as store
from storage import repository as repo
from tests.conftest import reset

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # a Monday, 10:00 in Tokyo
CALL = CrmKind(ActionKind.CONTACTED, channel="call")
ENV = {"SALESFORCE_CLIENT_ID": "cid", "SALESFORCE_CLIENT_SECRET": "s" * 20}


def settings(**salesforce: Any) -> Settings:
    raw = {
        "timezone": "Asia/Tokyo",
        "teams": [
            {"name": "ent", "sla": {"minutes": 60}, "reps": ["a@example.com"]},
            {"name": "smb", "sla": {"minutes": 60}, "reps": ["b@example.com"]},
        ],
        "crm": {"salesforce": {"team_from": {"default": "smb"}, **salesforce}},
    }
    return parse_settings(raw, "test.yml", env=ENV)


@dataclass
class Replay:
    """A CrmSource that yields the pages it was given, once each, for each object."""

    by_object: dict[str, list[Page]]
    name: str = "salesforce"
    asked: list[tuple[str, datetime | None]] = field(default_factory=list)
    fail_on: str | None = None

    def objects(self) -> Sequence[str]:
        return list(self.by_object)

    def pages(self, obj: str, since: datetime | None, now: datetime) -> Iterator[Page]:
        self.asked.append((obj, since))
        assert since is None or since < now
        for page in self.by_object[obj]:
            yield page
            if self.fail_on == obj:
                raise CrmError("REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded")


def lead(crm_id: str, owner: str | None = "a@example.com", hours: float = 0) -> CrmLead:
    return CrmLead(crm_id, T0 + timedelta(hours=hours), TimeFrom.FIELD, owner)


def call(crm_id: str, on: str, hours: float, actor: str = "a@example.com") -> CrmActivity:
    return CrmActivity(crm_id, on, T0 + timedelta(hours=hours), CALL, actor)


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)))


def test_a_page_records_its_leads_with_cards_and_its_actions_once(engine: Engine) -> None:
    s = settings()
    source = Replay(
        {
            "Lead": [
                Page("Lead", T0, 2, leads=[lead("00Q1"), lead("00Q2", owner="b@example.com")])
            ],
            "Task": [
                Page("Task", T0 + timedelta(hours=1), 2, activities=[call("00T1", "00Q1", 0.5)])
            ],
        }
    )
    clock = FixedClock(T0 + timedelta(hours=2))
    runs = sync(engine, s, [source], clock)
    assert [r.error for r in runs] == [None, None]
    assert runs[0].tally.leads_new == 2
    assert runs[0].tally.time_from == {TimeFrom.FIELD: 2}
    assert runs[1].tally.actions_new == 1
    leads = rows(engine, "SELECT external_id, t.name FROM leads JOIN teams t ON t.id = team_id")
    assert sorted(leads) == [("00Q1", "ent"), ("00Q2", "smb")]
    assert len(rows(engine, "SELECT key FROM outbox WHERE key LIKE 'card:%'")) == 2
    first = rows(engine, "SELECT first_action_kind FROM leads WHERE external_id = '00Q1'")
    assert first == [("contacted",)]
    # the next sync starts from each cursor less the overlap, and re-reads change nothing
    again = sync(engine, s, [source], clock)
    assert source.asked[-2:] == [
        ("Lead", T0 - timedelta(minutes=5)),
        ("Task", T0 + timedelta(minutes=55)),
    ]
    assert again[0].tally.leads_new == 0
    assert again[1].tally.actions_new == 0
    assert again[1].tally.actions_known == 1
    assert len(rows(engine, "SELECT id FROM actions")) == 1


def test_activities_off_our_leads_before_handoff_or_written_by_us_are_not_counted(
    engine: Engine,
) -> None:
    s = settings()
    with engine.begin() as conn:
        store.mark_written(conn, "salesforce", "00Tmine", None, T0)
    source = Replay(
        {
            "Lead": [Page("Lead", T0, 1, leads=[lead("00Q1", hours=1)])],
            "Task": [
                Page(
                    "Task",
                    T0,
                    4,
                    activities=[
                        call("00Tother", "00Qnot-handed-off", 2),
                        call("00Tearly", "00Q1", 0.5),
                        call("00Tmine", "00Q1", 2),
                        CrmActivity("00Tmarked", "00Q1", T0 + timedelta(hours=2), CALL, None, True),
                    ],
                )
            ],
        }
    )
    runs = sync(engine, s, [source], FixedClock(T0 + timedelta(hours=3)))
    tally = runs[1].tally
    assert (tally.not_ours, tally.before_handoff, tally.written_back, tally.actions_new) == (
        1,
        1,
        2,
        0,
    )
    assert rows(engine, "SELECT id FROM actions") == []


def test_a_failing_crm_keeps_what_it_applied_and_records_the_error(engine: Engine) -> None:
    s = settings()
    source = Replay(
        {
            "Lead": [
                Page("Lead", T0, 1, leads=[lead("00Q1")]),
                Page("Lead", T0 + timedelta(hours=1), 1, leads=[lead("00Q2")]),
            ],
            "Task": [],
        },
        fail_on="Lead",
    )
    runs = sync(engine, s, [source], FixedClock(T0 + timedelta(hours=2)))
    assert runs[0].error is not None
    assert "REQUEST_LIMIT_EXCEEDED" in runs[0].error
    assert len(runs) == 1  # the CRM's other objects wait for the next sync
    assert [r[0] for r in rows(engine, "SELECT external_id FROM leads")] == ["00Q1"]
    with engine.connect() as conn:
        (state,) = store.cursors(conn)
    assert state.cursor_at == T0
    assert state.errors == 1
    assert state.last_error is not None
    assert "REQUEST_LIMIT_EXCEEDED" in state.last_error


def test_a_dry_run_writes_nothing(engine: Engine) -> None:
    source = Replay({"Lead": [Page("Lead", T0, 1, leads=[lead("00Q1")])]})
    runs = sync(engine, settings(), [source], FixedClock(T0), dry_run=True)
    assert runs[0].tally.leads_new == 1
    assert rows(engine, "SELECT id FROM leads") == []
    assert rows(engine, "SELECT source FROM crm_cursors") == []


def test_a_merge_keeps_the_actions_and_excludes_the_duplicate(engine: Engine) -> None:
    s = settings()
    clock = FixedClock(T0 + timedelta(hours=3))
    first = Replay(
        {
            "Lead": [Page("Lead", T0, 2, leads=[lead("00Qloser"), lead("00Qmaster", hours=1)])],
            "Task": [Page("Task", T0, 1, activities=[call("00T1", "00Qloser", 0.5)])],
        }
    )
    sync(engine, s, [first], clock)
    merged = Replay(
        {
            "Lead": [
                Page("Lead", T0 + timedelta(hours=2), 1, merges=[Merge("00Qloser", "00Qmaster")])
            ],
            # the CRM re-parents the task to the master: read again, it counts for it once
            "Task": [
                Page(
                    "Task", T0 + timedelta(hours=2), 1, activities=[call("00T1", "00Qmaster", 0.5)]
                )
            ],
        }
    )
    sync(engine, s, [merged], clock)
    got = rows(
        engine,
        "SELECT l.external_id, a.kind, a.reason FROM actions a JOIN leads l ON l.id = a.lead_id "
        "ORDER BY l.external_id, a.kind",
    )
    assert got == [
        ("00Qloser", "contacted", None),
        ("00Qloser", "excluded", "duplicate"),
        ("00Qmaster", "contacted", None),
    ]
    # an activity later logged on the merged-away id counts for the master
    later = Replay(
        {
            "Task": [
                Page("Task", T0 + timedelta(hours=3), 1, activities=[call("00T2", "00Qloser", 2.5)])
            ]
        }
    )
    sync(engine, s, [later], clock)
    on_master = rows(
        engine,
        "SELECT count(*) FROM actions a JOIN leads l ON l.id = a.lead_id "
        "WHERE l.external_id = '00Qmaster'",
    )
    assert on_master == [(2,)]


def test_a_merge_into_a_lead_we_never_saw_goes_on_under_ours(engine: Engine) -> None:
    s = settings()
    clock = FixedClock(T0 + timedelta(hours=3))
    sync(engine, s, [Replay({"Lead": [Page("Lead", T0, 1, leads=[lead("00Qours")])]})], clock)
    sync(
        engine,
        s,
        [
            Replay(
                {
                    "Lead": [Page("Lead", T0, 1, merges=[Merge("00Qours", "00Qnew")])],
                    "Task": [Page("Task", T0, 1, activities=[call("00T9", "00Qnew", 1)])],
                }
            )
        ],
        clock,
    )
    got = rows(engine, "SELECT l.external_id FROM actions a JOIN leads l ON l.id = a.lead_id")
    assert got == [("00Qours",)]


@pytest.mark.parametrize("owner", [None, "nobody@example.com"])
def test_a_lead_without_a_team_goes_to_the_default(engine: Engine, owner: str | None) -> None:
    runs = sync(
        engine,
        settings(),
        [Replay({"Lead": [Page("Lead", T0, 1, leads=[lead("00Q1", owner=owner)])]})],
        FixedClock(T0),
    )
    assert runs[0].tally.leads_new == 1
    assert rows(engine, "SELECT t.name FROM leads JOIN teams t ON t.id = team_id") == [("smb",)]


def _click(lead_id: int, kind: ActionKind, key: str, **extra: Any) -> Any:
    from metrics.clicks import Click

    return Click(
        lead_id=lead_id,
        actor_email="a@example.com",
        kind=kind,
        at=T0 + timedelta(minutes=10),
        key=key,
        via="slack",
        **extra,
    )


@pytest.mark.parametrize("write_back", [True, False])
def test_a_click_on_a_crm_lead_queues_one_write_back(engine: Engine, write_back: bool) -> None:
    from bot.app.clicks import act
    from metrics.model import ContactChannel

    s = settings(write_back={"task": write_back})
    source = Replay({"Lead": [Page("Lead", T0, 1, leads=[lead("00Q1")])]})
    sync(engine, s, [source], FixedClock(T0))
    (lead_id,) = rows(engine, "SELECT id FROM leads WHERE external_id = '00Q1'")[0]
    now = T0 + timedelta(minutes=10)
    click = _click(lead_id, ActionKind.CONTACTED, "k1", channel=ContactChannel.CALL)
    act(engine, s, click, now)
    act(engine, s, click, now)  # the same click delivered again
    queued = rows(engine, "SELECT key, platform, target FROM outbox WHERE platform = 'salesforce'")
    (action_id,) = rows(engine, "SELECT id FROM actions")[0]
    assert queued == ([(f"crm:{action_id}", "salesforce", "salesforce")] if write_back else [])


def test_a_click_on_a_lead_from_elsewhere_writes_nothing_back(engine: Engine) -> None:
    from bot.app.clicks import act
    from bot.app.fields import LeadInput
    from bot.app.handoffs import receive_handoffs

    s = settings(write_back={"task": True})
    web = LeadInput("web", "W1", T0, "ent", "a@example.com", None, None, None, None)
    (lead_id,) = receive_handoffs(engine, s, [web], T0).new
    act(engine, s, _click(lead_id, ActionKind.REJECTED, "k2", reason="not_a_fit"), T0)
    assert rows(engine, "SELECT key FROM outbox WHERE platform = 'salesforce'") == []
    assert len(rows(engine, "SELECT id FROM actions")) == 1


TEXT = st.text(max_size=400)
INSTANTS = st.datetimes(  # hypothesis takes naive bounds and adds the zone
    min_value=datetime(1900, 1, 1),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(
    leads=st.lists(
        st.builds(
            CrmLead,
            crm_id=st.text(min_size=0, max_size=220),
            handed_off_at=INSTANTS,
            time_from=st.sampled_from(TimeFrom),
            owner_email=st.one_of(st.none(), TEXT, st.emails()),
            team_value=st.one_of(st.none(), TEXT),
            name=st.one_of(st.none(), TEXT),
            company=st.one_of(st.none(), TEXT),
            email=st.one_of(st.none(), TEXT, st.emails()),
            campaign=st.one_of(st.none(), TEXT),
        ),
        max_size=6,
    ),
    calls=st.lists(
        st.tuples(st.text(max_size=220), st.integers(0, 5), INSTANTS, st.one_of(st.none(), TEXT)),
        max_size=6,
    ),
)
@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_whatever_a_crm_sends_a_page_is_applied_or_reported_never_a_crash(
    engine: Engine, leads: list[CrmLead], calls: list[tuple[str, int, datetime, str | None]]
) -> None:
    """Text of any length or character, any instant, any email-ish owner: the sync never
    stops on a record (a stuck sync would re-read the same page for ever). What cannot be
    recorded is reported; what is recorded fits its columns."""
    reset(engine)
    ids = [lead.crm_id for lead in leads] or ["none"]
    activities = [
        CrmActivity(crm_id, ids[i % len(ids)], at, CALL, actor) for crm_id, i, at, actor in calls
    ]
    page = Page("Lead", T0, len(leads) + len(calls), leads=leads, activities=activities)
    source = Replay({"Lead": [page]})
    (run,) = sync(engine, settings(), [source], FixedClock(T0 + timedelta(days=1)))
    assert run.error is None
    t = run.tally
    readable = {
        lead.crm_id for lead in leads if 0 < len(lead.crm_id) <= 150 and "\x00" not in lead.crm_id
    }
    assert t.leads_new + t.leads_known <= len(readable)
    stored = rows(engine, "SELECT external_id, name, company, email, campaign FROM leads")
    for external_id, name, company, email, campaign in stored:
        assert external_id in readable
        assert all(
            v is None or (len(v) <= 320 and "\x00" not in v)
            for v in (name, company, email, campaign)
        )


# ------------------------------------------------------------ reading ahead


@dataclass
class Watched:
    """A CrmSource of one-lead pages that notes, each time it is asked for the next page,
    how many pages the database holds by then, and whether it was closed."""

    engine: Engine
    pages_count: int
    fail_at: int | None = None  # this page's budget no column holds: its write fails
    name: str = "salesforce"
    committed_when_asked: list[int] = field(default_factory=list)
    yielded: int = 0
    closed: bool = False

    def objects(self) -> Sequence[str]:
        return ["Lead"]

    def pages(self, obj: str, since: datetime | None, now: datetime) -> Iterator[Page]:  # noqa: ARG002 (the protocol's)
        try:
            for i in range(self.pages_count):
                if i:
                    self.committed_when_asked.append(self._committed())
                budget = (10**30, 1) if i == self.fail_at else None
                self.yielded += 1
                yield Page(obj, T0 + timedelta(minutes=i), 1, [lead(f"00Q{i}")], budget=budget)
        finally:
            self.closed = True

    def _committed(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM leads")).scalar_one())


def test_the_next_page_is_read_while_a_page_is_written_and_never_further(engine: Engine) -> None:
    source = Watched(engine, pages_count=6)
    (run,) = sync(engine, settings(), [source], FixedClock(T0 + timedelta(hours=1)))
    assert run.error is None
    assert run.tally.leads_new == 6
    # asked for page k (k >= 1), the sync had taken page k-1: pages 0..k-2 were committed,
    # and page k-1 at most
    for k, committed in enumerate(source.committed_when_asked, start=1):
        assert k - 1 <= committed <= k
    assert source.closed


def test_a_page_that_cannot_be_written_stops_the_reading_and_closes_the_source(
    engine: Engine,
) -> None:
    source = Watched(engine, pages_count=10, fail_at=2)
    with pytest.raises(Exception, match=r"(?i)out of range|too large"):
        sync(engine, settings(), [source], FixedClock(T0 + timedelta(hours=1)))
    assert source.closed  # before the sync raised: the source is free for the next sync
    assert source.yielded <= 4  # the failing page, and one read ahead of it at most
    assert not [t for t in threading.enumerate() if t.name == "crm-read-ahead"]
    assert [r[0] for r in rows(engine, "SELECT external_id FROM leads ORDER BY 1")] == [
        "00Q0",
        "00Q1",
    ]
    with engine.connect() as conn:
        (state,) = store.cursors(conn)
    assert state.cursor_at == T0 + timedelta(minutes=1)


def test_an_id_no_column_can_hold_is_reported_and_the_page_applied(engine: Engine) -> None:
    page = Page(
        "Task",
        T0 + timedelta(hours=1),
        4,
        activities=[
            call("00T\x00nul", "00Q1", 1),
            call("00T\ud800half", "00Q1", 1),
            call("00Tgood", "00Q\x001", 1),
            call("00Tfine", "00Q1", 1),
        ],
    )
    source = Replay({"Lead": [Page("Lead", T0, 1, leads=[lead("00Q1")])], "Task": [page]})
    runs = sync(engine, settings(), [source], FixedClock(T0 + timedelta(hours=2)))
    assert [r.error for r in runs] == [None, None]
    tally = runs[1].tally
    assert tally.actions_new == 1
    assert tally.not_ours == 1  # no lead of ours has an id with a NUL
    assert len(tally.problems) == 2
    ((lead_id,),) = rows(engine, "SELECT id FROM leads")
    assert rows(engine, "SELECT idempotency_key FROM actions") == [
        (f"salesforce:00Tfine:{lead_id}",)
    ]


@given(
    known=st.sets(st.integers(0, 30), max_size=12),
    aliases=st.dictionaries(st.integers(0, 40), st.integers(0, 30), max_size=8),
    asked=st.lists(st.integers(0, 45), max_size=40),
)
@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_an_id_resolves_to_its_alias_first_then_to_its_own_lead(
    engine: Engine, known: set[int], aliases: dict[int, int], asked: list[int]
) -> None:
    """`resolve` (one index probe an id on PostgreSQL, IN lists on SQLite) against the
    rule it keeps: an id a merge made an alias stands for the alias's lead, else for the
    lead of that id, else for nothing."""
    reset(engine)
    leads = sorted(known | set(aliases.values()))
    with engine.begin() as conn:
        teams = team_ids(conn, settings(), T0)
        ids = repo.add_leads(
            conn,
            [
                repo.NewLead("salesforce", f"00Q{n}", teams["ent"], T0, T0 + timedelta(hours=1))
                for n in leads
            ],
            T0,
        )
        for crm, target in aliases.items():
            store.add_alias(
                conn, "salesforce", f"00Q{crm}", ids[("salesforce", f"00Q{target}")], T0
            )
        # another source's lead of the same id is no lead of this one
        repo.add_leads(conn, [repo.NewLead("hubspot", "00Q1", teams["ent"], T0, T0)], T0)
    with engine.connect() as conn:
        found = store.resolve(conn, "salesforce", [f"00Q{n}" for n in asked])
    expected = {}
    for n in asked:
        stands_for = aliases.get(n, n if n in leads else None)
        if stands_for is not None:
            expected[f"00Q{n}"] = ids[("salesforce", f"00Q{stands_for}")]
    assert {crm_id: ref.id for crm_id, ref in found.items()} == expected
    assert all(ref.handed_off_at == T0 for ref in found.values())

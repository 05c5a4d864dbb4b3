"""CRM sync: handoffs and logged work read from Salesforce or HubSpot, recorded through
the same functions a webhook and a click reach, and clicks written back.

A CRM adapter (`bot/crm/`) implements `CrmSource`: for each object it reads (handoff
objects first, then activities), it yields `Page`s of what changed since a moment, in the
CRM's own order of modification. `sync` applies each page in one transaction together with
the object's cursor, so a sync killed mid-page resumes from the last page it finished and
re-reads the rest: idempotency keys make the re-read change nothing. While a page is
written, the next one is read (`read_ahead`), and no page after it.

- A lead is `(source, external_id)` = (the CRM's name, its record id).
- An activity's key is `<crm>:<record id>:<lead id>`: the same record read twice (the
  overlap window, a backfill, a resumed sync) is one action; a record re-parented to a
  merge's master counts once more, for the master.
- A merge (`Merge`): activities on either id count for the lead we know. When we know both
  leads, the merged-away one is excluded as a duplicate (if `duplicate` is a configured
  reason that excludes) and its CRM actions are copied to the master.
- A deleted record changes nothing already counted: a lead handed off and then deleted in
  the CRM was still handed off, and deleting an ignored lead must not hide the ignoring.
- A record the bot created itself (a write-back, `WriteBack`) is never read back as a
  second action: its id is remembered (`storage.crm.mark_written`) and it carries a
  marker the adapter recognises (`ours`).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.app.fields import LIMITS, NOT_TEXT, LeadInput
from bot.app.handoffs import new_handoffs
from bot.app.messages import Outgoing, WriteBack, enqueue_many
from bot.app.teams import team_ids
from bot.clock import Clock
from bot.config import Settings
from bot.crmconfig import CrmKind, TeamFrom
from metrics.instants import SUPPORTED, is_supported
from metrics.model import ActionKind, NewAction
from metrics.routing import Platform
from storage import crm as store
from storage import repository as repo
from storage.engine import Connection, Engine, begin_writing, writing
from storage.locks import single_runner
from storage.types import truncate_to_second

log = logging.getLogger(__name__)
FUTURE_SKEW = timedelta(minutes=5)  # an activity later than this is not done yet
MARKER = "[ignorerate]"  # the start of a write-back's description: the sync skips it


class TimeFrom(StrEnum):
    """Where a CRM lead's handoff time came from."""

    FIELD = "field"  # the configured datetime field (e.g. MQL_Date__c, a stage's date)
    HISTORY = "history"  # the field history's change time (LeadHistory)
    FIRST_SEEN = "first_seen"  # the moment the sync first saw the condition hold


@dataclass(frozen=True)
class CrmLead:
    crm_id: str
    handed_off_at: datetime
    time_from: TimeFrom
    owner_email: str | None  # None: no user owns it (a queue): unassigned
    team_value: str | None = None  # the value of `team_from.by_field`, when configured
    name: str | None = None
    company: str | None = None
    email: str | None = None
    campaign: str | None = None


@dataclass(frozen=True)
class CrmActivity:
    """Something done to a lead in the CRM: a logged call, email, meeting, a status."""

    crm_id: str  # the record's own id (a status change: "<lead id>:status:<value>")
    lead_crm_id: str
    at: datetime
    kind: CrmKind
    actor_email: str | None
    ours: bool = False  # carries the write-back marker: the bot wrote it


@dataclass(frozen=True)
class Merge:
    loser: str  # the record merged away (deleted, MasterRecordId set)
    master: str


@dataclass(frozen=True)
class Page:
    """One page of one object. `until`: the newest modification time in the page, the
    cursor once it is applied (None: the page moves no cursor)."""

    object: str
    until: datetime | None
    records: int
    leads: Sequence[CrmLead] = ()
    activities: Sequence[CrmActivity] = ()
    merges: Sequence[Merge] = ()
    budget: tuple[int, int] | None = None  # (used, max) as the CRM last reported


class CrmError(Exception):
    """The CRM failed or refused (after the adapter's own retries). Its message is stored
    and shown by `crm status`: it must never hold a credential."""


class BudgetSpentError(CrmError):
    """The API budget is down to the configured headroom: the sync stops until it grows."""


class CrmSource(Protocol):
    """A CRM as the sync reads it."""

    name: str  # "salesforce" or "hubspot": the leads' `source`

    def objects(self) -> Sequence[str]:
        """The objects to read, handoff objects first."""
        ...

    def pages(self, obj: str, since: datetime | None, now: datetime) -> Iterator[Page]:
        """What changed at or after `since` (None: everything), oldest first."""
        ...


@dataclass
class Tally:
    pages: int = 0
    records: int = 0
    leads_new: int = 0
    leads_known: int = 0
    actions_new: int = 0
    actions_known: int = 0
    not_ours: int = 0  # activities on records that are no handed-off lead of ours
    before_handoff: int = 0
    written_back: int = 0  # our own write-backs, read back and skipped
    problems: list[str] = field(default_factory=list)
    # where the new leads' handoff times came from (the issue: "say which was used")
    time_from: Counter[TimeFrom] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        for f in fields(self):  # the counts; the two collections are merged below
            mine = getattr(self, f.name)
            if isinstance(mine, int):
                setattr(self, f.name, mine + getattr(other, f.name))
        self.problems += other.problems
        self.time_from.update(other.time_from)


@dataclass
class ObjectRun:
    source: str
    object: str
    tally: Tally = field(default_factory=Tally)
    error: str | None = None


def team_for(settings: Settings, rule: TeamFrom, lead: CrmLead) -> str | None:
    """The team a CRM lead joins (see `TeamFrom`); a single configured team takes all."""
    if rule.by_field is not None:
        team = rule.map.get(lead.team_value or "")
    else:
        owner = lead.owner_email
        team = next(
            (t.name for t in settings.teams if owner and (owner in t.reps or owner in t.managers)),
            None,
        )
    if team is None:
        team = rule.default
    if team is None and len(settings.teams) == 1:
        team = settings.teams[0].name
    return team


def _team_rule(settings: Settings, source: str) -> TeamFrom:
    part = getattr(settings.crm, source, None)
    return part.team_from if part is not None else TeamFrom()


def apply_page(
    conn: Connection,
    settings: Settings,
    source: str,
    page: Page,
    now: datetime,
    *,
    teams: Mapping[str, int] | None = None,
) -> Tally:
    """Records one page in the caller's transaction, and moves the object's cursor.
    `teams`: the teams' row ids, when the caller has them already (`team_ids`)."""
    tally = Tally(pages=1, records=page.records)
    rule = _team_rule(settings, source)
    leads: list[LeadInput] = []
    for lead in page.leads:
        refusal = _unreadable(lead.crm_id, lead.handed_off_at)
        if refusal:
            tally.problems.append(f"{source} {_shown(lead.crm_id)}: {refusal}; not handed off")
            continue
        team = team_for(settings, rule, lead)
        if team is None:
            tally.problems.append(
                f"{source} {lead.crm_id}: no team (owner {lead.owner_email or 'none'}, "
                f"value {lead.team_value or 'none'}); set team_from.default"
            )
            continue
        leads.append(
            LeadInput(
                source=source,
                external_id=lead.crm_id,
                handed_off_at=truncate_to_second(lead.handed_off_at),
                team=team,
                owner_email=_email(lead.owner_email),
                name=_text(lead.name, "name"),
                company=_text(lead.company, "company"),
                email=_email(lead.email),
                campaign=_text(lead.campaign, "campaign"),
            )
        )
    if leads:
        created = new_handoffs(conn, settings, leads, now, teams=teams)
        tally.leads_new += len(created)
        tally.leads_known += len({lead.key for lead in leads}) - len(created)
        for crm_lead in page.leads:
            if (source, crm_lead.crm_id) in created:
                tally.time_from[crm_lead.time_from] += 1
                log.info(
                    "crm sync: %s %s handed off at %s (time from %s)",
                    source,
                    crm_lead.crm_id,
                    crm_lead.handed_off_at.isoformat(),
                    crm_lead.time_from.value,
                )
    for merge in page.merges:
        _merge(conn, settings, source, merge, now=now, tally=tally)
    _activities(conn, settings, source, page.activities, now=now, tally=tally)
    if page.budget is not None:
        store.set_budget(conn, source, page.budget[0], page.budget[1], now)
    store.advance(conn, source, page.object, to=page.until, records=page.records, now=now)
    return tally


def _activities(
    conn: Connection,
    settings: Settings,
    source: str,
    activities: Sequence[CrmActivity],
    *,
    now: datetime,
    tally: Tally,
) -> None:
    if not activities:
        return
    # an id no column can hold (a NUL, half a surrogate pair) is in no table, and no
    # database is asked about it: PostgreSQL refuses the whole statement
    mine = store.written(conn, source, [a.crm_id for a in activities if _storable(a.crm_id)])
    refs = store.resolve(
        conn, source, (a.lead_crm_id for a in activities if _storable(a.lead_crm_id))
    )
    rows: list[NewAction] = []
    for activity in activities:
        if activity.ours or activity.crm_id in mine:
            tally.written_back += 1
            continue
        ref = refs.get(activity.lead_crm_id)
        if ref is None:
            tally.not_ours += 1
            continue
        refusal = _unreadable(activity.crm_id, activity.at)
        if refusal:
            tally.problems.append(f"{source} {_shown(activity.crm_id)}: {refusal}; not counted")
            continue
        at = truncate_to_second(activity.at)
        if at < ref.handed_off_at:
            tally.before_handoff += 1
            continue
        if at > now + FUTURE_SKEW:
            tally.problems.append(
                f"{source} {activity.crm_id}: dated {at.isoformat()}, in the future; not counted"
            )
            continue
        rows.append(_action(settings, source, activity, ref.id, at))
    inserted = repo.add_actions(conn, rows, now)
    tally.actions_new += len(inserted)
    tally.actions_known += len(rows) - len(inserted)


def _action(
    settings: Settings, source: str, activity: CrmActivity, lead_id: int, at: datetime
) -> NewAction:
    kind = activity.kind
    reason = settings.reason(kind.reason) if kind.reason else None
    return NewAction(
        lead_id=lead_id,
        at=at,
        kind=kind.kind,
        idempotency_key=f"{source}:{activity.crm_id}:{lead_id}",
        via=source,
        channel=kind.channel,
        reason=reason.code if reason else kind.reason,
        excludes=kind.kind is ActionKind.EXCLUDED or bool(reason and reason.excludes),
        actor_email=_email(activity.actor_email),
    )


# what a CRM record may hold that our columns cannot: read the way every door reads it
_KEY_CHARS = 150  # an activity's key is "<crm>:<record id>:<lead id>", 200 at most


def _unreadable(crm_id: str, moment: datetime) -> str | None:
    """Why a record cannot be recorded at all, if it cannot."""
    if not crm_id or len(crm_id) > _KEY_CHARS or NOT_TEXT.search(crm_id):
        return f"an id of {len(crm_id)} characters we cannot key"
    if moment.tzinfo is None or not is_supported(moment):
        return f"dated {moment.isoformat()}, outside the supported range ({SUPPORTED})"
    return None


def _storable(text: str) -> bool:
    return NOT_TEXT.search(text) is None


def _shown(crm_id: str) -> str:
    return repr(crm_id[:40]) if NOT_TEXT.search(crm_id[:40]) else crm_id[:40]


def _text(value: str | None, name: str) -> str | None:
    """A CRM's free text as a column keeps it: no NUL or lone surrogate, within its limit
    (a company name longer than ours is cut, not a reason to stop the sync)."""
    if value is None:
        return None
    cleaned = NOT_TEXT.sub("", value).strip()
    return cleaned[: LIMITS[name]] or None


def _email(value: str | None) -> str | None:
    """An owner's or actor's email as we key people: lower-cased; None when it is none."""
    text = _text(value, "owner_email")
    if text is None:
        return None
    local, at, domain = text.partition("@")
    if not (at and local and "." in domain) or " " in text:
        return None
    return text.lower()


def _merge(
    conn: Connection, settings: Settings, source: str, merge: Merge, *, now: datetime, tally: Tally
) -> None:
    if any(_unreadable(crm_id, now) for crm_id in (merge.loser, merge.master)):
        tally.problems.append(f"{source} merge of {_shown(merge.loser)}: ids we cannot key")
        return
    refs = store.resolve(conn, source, (merge.loser, merge.master))
    loser, master = refs.get(merge.loser), refs.get(merge.master)
    if loser is None and master is None:
        return
    if master is None:
        assert loser is not None
        store.add_alias(conn, source, merge.master, loser.id, now)  # we go on under the loser
        return
    store.add_alias(conn, source, merge.loser, master.id, now)
    if loser is None or loser.id == master.id:
        return
    copies = [
        NewAction(
            lead_id=master.id,
            at=max(a.at, master.handed_off_at),
            kind=ActionKind(a.kind),
            idempotency_key=f"{a.idempotency_key.rsplit(':', 1)[0]}:{master.id}",
            via=a.via,
            channel=a.channel,
            reason=a.reason,
            excludes=a.excludes,
            actor_email=a.actor_email,
        )
        for a in store.actions_of(conn, loser.id, source)
    ]
    duplicate = settings.reason("duplicate")
    if duplicate is not None and duplicate.excludes:
        copies.append(
            NewAction(
                lead_id=loser.id,
                at=max(now, loser.handed_off_at),
                kind=ActionKind.EXCLUDED,
                idempotency_key=f"{source}:merged:{merge.loser}:{loser.id}",
                via=source,
                reason=duplicate.code,
                excludes=True,
            )
        )
    inserted = repo.add_actions(conn, copies, now)
    tally.actions_new += len(inserted)


def sync(
    engine: Engine,
    settings: Settings,
    sources: Sequence[CrmSource],
    clock: Clock,
    *,
    dry_run: bool = False,
    since: datetime | None = None,
) -> list[ObjectRun]:
    """One sync of every object of every source, from each object's cursor (less the
    overlap window), or from `since` (a backfill; cursors never move back). A CRM that
    fails is recorded and left until the next sync; the others go on. `dry_run`: all
    in one transaction, rolled back."""
    overlap = timedelta(seconds=settings.crm.overlap_seconds)
    # one connection for the whole sync, a transaction a page: a long sync does not check
    # a connection out of the pool (and ping it) for each of its pages
    with engine.connect() as conn:
        if dry_run:
            tx = begin_writing(conn)
            try:
                dry = _Syncer(lambda: nullcontext(conn), settings, clock, overlap, since)
                return dry.run(sources)
            finally:
                tx.rollback()
        return _Syncer(lambda: _writing_on(conn), settings, clock, overlap, since).run(sources)


@contextmanager
def _writing_on(conn: Connection) -> Iterator[Connection]:
    """A writing transaction on `conn` (see `begin_writing`), committed when the block
    ends, rolled back if it raises."""
    with begin_writing(conn):
        yield conn


@dataclass(frozen=True)
class _Syncer:
    transaction: Callable[[], AbstractContextManager[Connection]]
    settings: Settings
    clock: Clock
    overlap: timedelta
    since: datetime | None

    def run(self, sources: Sequence[CrmSource]) -> list[ObjectRun]:
        runs: list[ObjectRun] = []
        for source in sources:
            for obj in source.objects():
                run = ObjectRun(source.name, obj)
                runs.append(run)
                if not self.object(source, obj, run):
                    break  # the CRM failed: its other objects wait for the next sync
        return runs

    def object(self, source: CrmSource, obj: str, run: ObjectRun) -> bool:
        with self.transaction() as conn:
            start = store.cursor(conn, source.name, obj)
            # the teams' rows, made once a sync rather than once a page: a team is
            # never deleted, so its id holds for every page after
            teams = team_ids(conn, self.settings, self.clock.now())
        if self.since is not None:
            start = self.since
        elif start is not None:
            start -= self.overlap
        try:
            with closing(read_ahead(source.pages(obj, start, self.clock.now()))) as pages:
                for page in pages:
                    with self.transaction() as conn:
                        now = self.clock.now()
                        tally = apply_page(conn, self.settings, source.name, page, now, teams=teams)
                    run.tally.add(tally)
        except CrmError as err:
            run.error = str(err)
            log.warning("crm sync: %s %s: %s", source.name, obj, err)
            with self.transaction() as conn:
                store.record_error(conn, source.name, obj, str(err), self.clock.now())
            return False
        with self.transaction() as conn:  # read to the end: the lag starts again from now
            store.advance(conn, source.name, obj, to=None, records=0, now=self.clock.now())
        for problem in run.tally.problems:
            log.warning("crm sync: %s", problem)
        return True


def read_ahead(pages: Iterator[Page]) -> Generator[Page, None, None]:
    """`pages`, in order, each next one read by a thread of its own while the caller
    writes the one before: the CRM answers the next request while this page is written,
    so a long sync takes about the longer of the two instead of their sum. The reader asks
    for page k+1 only once the caller has taken page k, so every page before k is
    committed by then (a sync killed while the CRM is slow to answer keeps them).

    An error the reader met is raised here, in its place, after the pages before it.
    When the caller stops early (its write failed), the reader stops after the request it
    is in, and is waited for: the source is never used by two threads at once."""
    handoff: queue.SimpleQueue[tuple[Page | None, BaseException | None]] = queue.SimpleQueue()
    taken = threading.Semaphore(0)
    stop = threading.Event()

    def give(item: tuple[Page | None, BaseException | None]) -> bool:
        """Hands `item` over and waits until it is taken; False: the caller stopped."""
        handoff.put(item)
        while not taken.acquire(timeout=0.05):
            if stop.is_set():
                return False
        return True

    def read() -> None:
        try:
            for page in pages:
                if not give((page, None)):
                    return
            give((None, None))
        except BaseException as err:  # raised again in the caller's thread
            give((None, err))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="crm-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            page, err = handoff.get()
            taken.release()
            if err is not None:
                raise err
            if page is None:
                return
            yield page
    finally:
        stop.set()
        reader.join()


# -- write-back --------------------------------------------------------------------------

WRITTEN_KINDS = (ActionKind.CONTACTED, ActionKind.REJECTED)


def writes_back(settings: Settings, source: str) -> bool:
    """Whether clicks on leads of `source` are written back to that CRM."""
    sf, hs = settings.crm.salesforce, settings.crm.hubspot
    if source == Platform.SALESFORCE:
        return sf is not None and (sf.write_back_task or sf.write_back_status is not None)
    if source == Platform.HUBSPOT:
        return hs is not None and hs.write_back is not None
    return False


def queue_write_backs(
    conn: Connection, settings: Settings, source: str, records: Sequence[NewAction], now: datetime
) -> None:
    """In a click's transaction: one `WriteBack` for each Contacted or Reject it recorded
    on a lead from a CRM that takes write-backs (keyed by action: exactly once)."""
    if not writes_back(settings, source):
        return
    wanted = [r for r in records if r.kind in WRITTEN_KINDS]
    ids = store.action_ids(conn, [r.idempotency_key for r in wanted])
    enqueue_many(
        conn,
        [
            Outgoing(
                f"crm:{ids[r.idempotency_key]}",
                WriteBack(ids[r.idempotency_key]),
                Platform(source),
                source,
            )
            for r in wanted
            if r.idempotency_key in ids
        ],
        now,
    )


def write_back_of(engine: Engine, action_id: int) -> store.ActionToWrite | None:
    """The action a `WriteBack` names, as the CRM sender writes it."""
    with engine.connect() as conn:
        return store.action_to_write(conn, action_id)


def remember_written(
    engine: Engine, source: str, crm_id: str, action_id: int, now: datetime
) -> None:
    """The CRM record a write-back created: the sync will skip it."""
    with writing(engine) as conn:
        store.mark_written(conn, source, crm_id, action_id, now)


# -- one runner, status and health -------------------------------------------------------

# the advisory lock's key: the scheduler's kind of lock, under a key of its own, so a long
# sync (a backfill) never holds up the SLA sweep
SYNC_LOCK = 0x1607E_C4A


def sync_once(
    engine: Engine,
    settings: Settings,
    sources: Sequence[CrmSource],
    clock: Clock,
    *,
    dry_run: bool = False,
    since: datetime | None = None,
) -> list[ObjectRun] | None:
    """`sync` by one process at a time however many replicas run; None: another process
    is syncing now (its run covers this one's)."""
    with single_runner(engine, SYNC_LOCK, "crm") as mine:
        if not mine:
            return None
        return sync(engine, settings, sources, clock, dry_run=dry_run, since=since)


@dataclass(frozen=True)
class CrmHealth:
    """A CRM's sync as /healthz, /metrics and `crm status` show it."""

    source: str
    last_success_at: datetime | None  # the oldest of its objects' last successes
    lag_seconds: float | None  # since then; None: never synced
    errors: int  # failed runs in a row (the worst object's)
    last_error: str | None
    budget_used: int | None
    budget_max: int | None
    objects: tuple[store.CursorState, ...]


def health(engine: Engine, settings: Settings, now: datetime) -> list[CrmHealth]:
    """One entry per configured CRM."""
    with engine.connect() as conn:
        states = store.cursors(conn)
        budgets = {b.source: b for b in store.budgets(conn)}
    out = []
    for source in settings.crm.configured:
        mine = tuple(s for s in states if s.source == source)
        successes = [s.last_success_at for s in mine]
        last = None if not mine or None in successes else min(s for s in successes if s)
        failing = [s for s in mine if s.last_error_at is not None and s.errors]
        budget = budgets.get(source)
        out.append(
            CrmHealth(
                source=source,
                last_success_at=last,
                lag_seconds=None if last is None else max(0.0, (now - last).total_seconds()),
                errors=max((s.errors for s in mine), default=0),
                last_error=max(failing, key=lambda s: s.last_error_at or now).last_error
                if failing
                else None,
                budget_used=budget.used if budget else None,
                budget_max=budget.max if budget else None,
                objects=mine,
            )
        )
    return out

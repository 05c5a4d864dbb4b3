"""HubSpot, read by the sync (`HubspotSource`) and written to by write-back
(`HubspotSender`), through the official client (`hubspot-api-client`) with a private
app's token (HUBSPOT_ACCESS_TOKEN). The client's `Configuration.host` is set to
HUBSPOT_API_URL (default https://api.hubapi.com), so the same code talks to a local fake.

What is read (objects, in this order; cursors are per object):

- `contacts`: a contact is handed off once its `lifecyclestage` (`handoff.property`) is the
  configured value (`marketingqualifiedlead`), or once it has that stage's date property
  `hs_lifecyclestage_<value>_date` (a contact that went on to SQL was an MQL). The time is
  that date (`TimeFrom.FIELD`), else the moment the sync first saw it (`FIRST_SEEN`). The
  owner is `hubspot_owner_id`'s email from the owners API (no owner, or an owner the API
  does not list: unassigned). Name, company and email come from `firstname`/`lastname`,
  `company`, `email`; the campaign from `hs_analytics_source` (the original source).
  A mapped `hs_lead_status` value is an action, `<contact>:status:<value>`, dated the
  contact's `lastmodifieddate` when the sync first sees it with that value (HubSpot's
  search does not say when the status itself changed), by the contact's owner.
- `calls`, `emails`, `meetings` (`actions.types`): each counts for every contact it is
  associated with (v4 batch associations read). Time: `hs_timestamp`; a meeting whose
  `hs_timestamp` is still ahead counts at `hs_createdate`, the moment it was booked. Only
  outgoing emails (`hs_email_direction` = EMAIL) count. The actor is the engagement's
  `hubspot_owner_id` email. A call whose body starts with `MARKER` is the bot's own.

Incremental reads use the search API (POST /crm/v3/objects/{type}/search), filtered on the
object's modification time (`lastmodifieddate` for contacts, `hs_lastmodifieddate` for
the engagements), sorted ascending by it, `after`-paged: one `Page` per response.

- One query returns at most 10,000 results. When a query reaches that cap, the records
  sharing the last modification time seen are read by id (`hs_object_id GT` the last id,
  same time, sorted by id; again and again if that too is full), and a new query goes on
  strictly after that time. Nothing is lost, and a record is yielded twice only when the
  sync re-reads (idempotent anyway).
- Search results lag writes by a few seconds: the core re-reads `crm.overlap_seconds`
  before each cursor, which covers the lag.
- Search requests are paced (SEARCH_PER_SECOND; HubSpot's limit is per token). A 429 is
  read by its `policyName`: DAILY stops the sync (`BudgetSpentError`, stored); any other
  waits for Retry-After (or a second) and tries again, a bounded number of times. A 5xx
  or a dropped connection is retried with backoff, then is a `CrmError`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import hubspot
import hubspot.crm.associations.v4.exceptions
import hubspot.crm.objects.calls.exceptions
import hubspot.crm.objects.exceptions
import hubspot.crm.objects.notes.exceptions
import hubspot.crm.owners.exceptions
import urllib3

from bot.app import crm
from bot.app.crm import MARKER, BudgetSpentError, CrmActivity, CrmError, CrmLead, Page, TimeFrom
from bot.app.db import Engine
from bot.app.messages import Message, WriteBack
from bot.clock import Clock
from bot.crm.hubspot_door import hubspot_routes
from bot.crmconfig import CrmKind, HubspotConfig
from bot.outbox.engine import Refusal, Sending, Undeliverable
from metrics.model import ActionKind
from metrics.routing import Platform

__all__ = ["HubspotSender", "HubspotSource", "hubspot_routes"]

log = logging.getLogger(__name__)

SEARCH_CAP = 10_000  # results one search query returns at most
PAGE_SIZE = 200  # the search API's largest `limit`
# HubSpot's documented search limit per token (4 a second in its 2020 changelog, 5 in
# today's docs): pacing at 4 stays under either
SEARCH_PER_SECOND = 4.0
MAX_TRIES = 5
TIMEOUT = 30.0  # seconds, each request
ENGAGEMENTS = ("calls", "emails", "meetings")
CHANNEL = {"calls": "call", "emails": "email", "meetings": "meeting"}
OUTGOING_EMAIL = "EMAIL"  # hs_email_direction of a sent (or logged outgoing) email
# HubSpot-defined association type ids
CALL_TO_CONTACT = 194
NOTE_TO_CONTACT = 202
_TAGS = re.compile(r"^(?:\s*<[^>]*>)*\s*")
# each of the client's packages raises its own ApiException (no common base)
API_ERRORS: tuple[type[Exception], ...] = (
    hubspot.crm.objects.exceptions.ApiException,
    hubspot.crm.objects.calls.exceptions.ApiException,
    hubspot.crm.objects.notes.exceptions.ApiException,
    hubspot.crm.owners.exceptions.ApiException,
    hubspot.crm.associations.v4.exceptions.ApiException,
)


def _modified(obj: str) -> str:
    """The modification-time property the search API sorts and filters `obj` by."""
    return "lastmodifieddate" if obj == "contacts" else "hs_lastmodifieddate"


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def parse_time(value: Any) -> datetime | None:
    """A HubSpot datetime: ISO 8601 ("2026-11-02T01:00:00.000Z") or epoch milliseconds."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_ours(body: Any) -> bool:
    """Whether an engagement's body is a write-back's (HubSpot may wrap it in HTML)."""
    return isinstance(body, str) and _TAGS.sub("", body, count=1).startswith(MARKER)


class HubspotError(CrmError):
    """HubSpot refused or failed. `status` 0: no answer; `wait`: a 429's Retry-After;
    `permanent`: no retry mends it. Its text never holds the token."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        wait: float | None = None,
        policy: str | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.wait = wait
        self.policy = policy
        self.permanent = permanent


def _error_of(what: str, err: Any) -> HubspotError:
    status = int(getattr(err, "status", 0) or 0)
    headers: Mapping[str, str] = getattr(err, "headers", None) or {}
    body: dict[str, Any] = {}
    try:
        parsed = json.loads(getattr(err, "body", None) or "{}")
        body = parsed if isinstance(parsed, dict) else {}
    except ValueError:
        pass
    said = str(body.get("message") or getattr(err, "reason", "") or "")[:300]
    if status == 429:
        policy = str(body.get("policyName") or "")
        retry_after = headers.get("Retry-After") or headers.get("retry-after")
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        if policy == "DAILY":
            return BudgetError(f"HubSpot {what}: the daily API limit is spent (429 DAILY)")
        return HubspotError(
            f"HubSpot {what}: rate limited (429 {policy or 'no policy'})",
            status=429,
            wait=wait,
            policy=policy,
        )
    if status in (401, 403):
        return HubspotError(
            f"HubSpot {what}: {status} {said}; check HUBSPOT_ACCESS_TOKEN and the private "
            "app's scopes",
            status=status,
            permanent=True,
        )
    if status >= 500 or status == 0:
        return HubspotError(f"HubSpot {what}: {status or 'no answer'} {said}", status=status)
    category = body.get("category")
    return HubspotError(
        f"HubSpot {what}: {status} {category + ': ' if category else ''}{said}",
        status=status,
        permanent=True,
    )


class BudgetError(BudgetSpentError, HubspotError):
    """The daily limit is spent: the sync stops (stored), write-back waits an hour."""

    def __init__(self, message: str) -> None:
        HubspotError.__init__(self, message, status=429, policy="DAILY", wait=3600)


class HubspotApi:
    """The calls of `hubspot-api-client` this adapter makes, typed, paced and retried.
    Responses are read as JSON (`_preload_content=False`): the records' properties are
    all the adapter needs, and building the client's models for 100k records is slow."""

    def __init__(
        self,
        config: HubspotConfig,
        *,
        tries: int = MAX_TRIES,
        search_per_second: float | None = SEARCH_PER_SECOND,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        client = hubspot.Client.create(access_token=config.token, host=config.api_url)
        objects = client.crm.objects
        self._search = objects.search_api
        self._create = {"call": objects.calls.basic_api, "note": objects.notes.basic_api}
        self._owners = client.crm.owners.owners_api
        self._associations = client.crm.associations.v4.batch_api
        self.tries = tries
        self.gap = 1 / search_per_second if search_per_second else 0.0
        self.sleep = sleep
        self.monotonic = monotonic
        self._last_search: float | None = None
        self.requests = 0

    def _pace(self) -> None:
        now = self.monotonic()
        if self._last_search is not None and self.gap:
            wait = self._last_search + self.gap - now
            if wait > 0:
                self.sleep(wait)
                now += wait
        self._last_search = now

    def _call(self, what: str, request: Callable[[], Any], *, search: bool = False) -> Any:
        for attempt in range(1, self.tries + 1):
            if search:
                self._pace()
            self.requests += 1
            try:
                response = request()
                try:
                    data = response.data
                finally:
                    response.release_conn()
                return json.loads(data) if data else {}
            except API_ERRORS as err:
                failure = _error_of(what, err)
            except (urllib3.exceptions.HTTPError, OSError) as err:
                failure = HubspotError(f"HubSpot {what}: no answer ({type(err).__name__})")
            except ValueError:
                failure = HubspotError(f"HubSpot {what}: the answer is not JSON")
            if failure.permanent or isinstance(failure, BudgetError) or attempt == self.tries:
                raise failure
            wait = failure.wait if failure.wait is not None else min(30.0, 2.0 ** (attempt - 1))
            log.info("HubSpot %s: %s; trying again in %.1f s", what, failure, wait)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def search(self, obj: str, body: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = self._call(
            f"search {obj}",
            lambda: self._search.do_search(
                obj, body, _preload_content=False, _request_timeout=TIMEOUT
            ),
            search=True,
        )
        return found

    def owners(self) -> dict[str, str]:
        """Every active owner: id -> email."""
        emails: dict[str, str] = {}
        after: str | None = None
        while True:
            page = self._call(
                "owners",
                lambda after=after: self._owners.get_page(  # type: ignore[misc]
                    limit=500, after=after, _preload_content=False, _request_timeout=TIMEOUT
                ),
            )
            for owner in page.get("results") or []:
                if owner.get("id") is not None and owner.get("email"):
                    emails[str(owner["id"])] = str(owner["email"])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return emails

    def owner_by_email(self, email: str) -> str | None:
        page = self._call(
            "owners",
            lambda: self._owners.get_page(
                email=email, limit=1, _preload_content=False, _request_timeout=TIMEOUT
            ),
        )
        found = page.get("results") or []
        return str(found[0]["id"]) if found else None

    def contacts_of(self, obj: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """Engagement id -> the ids of the contacts it is associated with."""
        linked: dict[str, list[str]] = {}
        for start in range(0, len(ids), 1000):  # the batch read's largest input
            body = {"inputs": [{"id": i} for i in ids[start : start + 1000]]}
            found = self._call(
                f"associations {obj}->contacts",
                lambda body=body: self._associations.get_page(  # type: ignore[misc]
                    obj, "contacts", body, _preload_content=False, _request_timeout=TIMEOUT
                ),
            )
            for result in found.get("results") or []:
                source = str((result.get("from") or {}).get("id"))
                linked.setdefault(source, []).extend(
                    str(to["toObjectId"]) for to in result.get("to") or []
                )
        return linked

    def create(self, kind: str, body: dict[str, Any]) -> str:
        made = self._call(
            f"create {kind}",
            lambda: self._create[kind].create(
                body, _preload_content=False, _request_timeout=TIMEOUT
            ),
        )
        return str(made["id"])


class Owners:
    """Owner id -> email, loaded once and reloaded on a miss (at most once a sync)."""

    def __init__(self, api: HubspotApi) -> None:
        self.api = api
        self.emails: dict[str, str] | None = None
        self.reloaded = False

    def new_run(self) -> None:
        self.reloaded = False

    def email(self, owner_id: Any) -> str | None:
        if owner_id in (None, ""):
            return None
        key = str(owner_id)
        if self.emails is None:
            self.emails = self.api.owners()
            self.reloaded = True
        if key not in self.emails and not self.reloaded:
            self.emails = self.api.owners()
            self.reloaded = True
        return self.emails.get(key)


@dataclass(frozen=True)
class _Query:
    """One search: `filters` (ANDed) sorted ascending by `sort`."""

    filters: tuple[dict[str, str], ...]
    sort: str


class HubspotSource:
    """HubSpot as a `CrmSource` (see the module's docstring)."""

    name = "hubspot"

    def __init__(
        self,
        config: HubspotConfig,
        *,
        clock: Clock,
        page_size: int = PAGE_SIZE,
        search_cap: int = SEARCH_CAP,
        search_per_second: float | None = SEARCH_PER_SECOND,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.clock = clock
        self.page_size = page_size
        self.cap = search_cap
        self.api = HubspotApi(
            config, search_per_second=search_per_second, sleep=sleep, monotonic=monotonic
        )
        self.owners = Owners(self.api)

    def objects(self) -> Sequence[str]:
        return ("contacts", *(t for t in ENGAGEMENTS if t in self.config.types))

    def pages(self, obj: str, since: datetime | None, now: datetime) -> Iterator[Page]:
        self.owners.new_run()
        properties = self._properties(obj)
        for records in self._records(obj, since, properties):
            modified = [m for r in records if (m := parse_time(_props(r).get(_modified(obj))))]
            until = max(modified) if modified else None
            if obj == "contacts":
                leads, activities = self._contacts(records, now)
                yield Page(obj, until, len(records), leads=leads, activities=activities)
            else:
                yield Page(
                    obj, until, len(records), activities=self._engagements(obj, records, now)
                )

    # -- reading -----------------------------------------------------------------------

    def _properties(self, obj: str) -> list[str]:
        common = ["hs_object_id", "hubspot_owner_id", _modified(obj)]
        if obj == "contacts":
            c = self.config
            wanted = [c.handoff_property, "firstname", "lastname", "email", "company"]
            wanted += ["hs_analytics_source", "hs_lead_status"]
            if c.handoff_property == "lifecyclestage":
                wanted.append(self._stage_date())
            if c.team_from.by_field:
                wanted.append(c.team_from.by_field)
            return common + wanted
        extra = {
            "calls": ["hs_timestamp", "hs_call_body"],
            "emails": ["hs_timestamp", "hs_email_direction"],
            "meetings": ["hs_timestamp", "hs_createdate"],
        }
        return common + extra[obj]

    def _stage_date(self) -> str:
        return f"hs_lifecyclestage_{self.config.handoff_value}_date"

    def _records(
        self, obj: str, since: datetime | None, properties: list[str]
    ) -> Iterator[list[dict[str, Any]]]:
        """The records modified at or after `since`, a response page at a time, oldest
        first, splitting the time window wherever a query reaches the search cap."""
        modified = _modified(obj)
        bound = ((modified, "GTE", _ms(since)),) if since is not None else ()
        while True:
            query = _Query(tuple(_filter(*f) for f in bound), modified)
            last: dict[str, Any] | None = None
            seen_at_last: set[str] = set()
            capped = False
            for records, full in self._query(obj, query, properties):
                if records:
                    last_time = parse_time(_props(records[-1]).get(modified))
                    if last is None or parse_time(_props(last).get(modified)) != last_time:
                        seen_at_last = set()
                    last = records[-1]
                    seen_at_last.update(
                        r["id"] for r in records if parse_time(_props(r).get(modified)) == last_time
                    )
                    yield records
                capped = full
            if not capped or last is None:
                return
            at = _props(last).get(modified)
            stamp = parse_time(at)
            assert stamp is not None
            yield from self._ties(obj, stamp, seen_at_last, properties)
            bound = ((modified, "GT", _ms(stamp)),)

    def _ties(
        self, obj: str, stamp: datetime, seen: set[str], properties: list[str]
    ) -> Iterator[list[dict[str, Any]]]:
        """Every record modified exactly at `stamp`, by id (the cap may cut them)."""
        last_id = "0"
        while True:
            query = _Query(
                (
                    _filter(_modified(obj), "EQ", _ms(stamp)),
                    _filter("hs_object_id", "GT", last_id),
                ),
                "hs_object_id",
            )
            capped = False
            for records, full in self._query(obj, query, properties):
                fresh = [r for r in records if r["id"] not in seen]
                if records:
                    last_id = str(records[-1]["id"])
                if fresh:
                    yield fresh
                capped = full
            if not capped:
                return

    def _query(
        self, obj: str, query: _Query, properties: list[str]
    ) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """One query's pages, each with whether the query stopped at the cap there."""
        after: str | None = None
        read = 0
        while True:
            body: dict[str, Any] = {
                "filterGroups": [{"filters": list(query.filters)}] if query.filters else [],
                "sorts": [{"propertyName": query.sort, "direction": "ASCENDING"}],
                "properties": properties,
                "limit": self.page_size,
            }
            if after is not None:
                body["after"] = after
            found = self.api.search(obj, body)
            records = [r for r in found.get("results") or [] if r.get("id") is not None]
            for record in records:
                record["id"] = str(record["id"])
            read += len(records)
            nxt = ((found.get("paging") or {}).get("next") or {}).get("after")
            total = int(found.get("total") or 0)
            if nxt and _offset(nxt) < self.cap:
                yield records, False
                after = str(nxt)
                continue
            yield records, bool(nxt) or total > read
            return

    def _contacts(
        self, records: list[dict[str, Any]], now: datetime
    ) -> tuple[list[CrmLead], list[CrmActivity]]:
        c = self.config
        leads: list[CrmLead] = []
        activities: list[CrmActivity] = []
        for record in records:
            p = _props(record)
            contact = record["id"]
            owner = self.owners.email(p.get("hubspot_owner_id"))
            stage_at = (
                parse_time(p.get(self._stage_date()))
                if c.handoff_property == ("lifecyclestage")
                else None
            )
            if p.get(c.handoff_property) == c.handoff_value or stage_at is not None:
                name = " ".join(n for n in (p.get("firstname"), p.get("lastname")) if n) or None
                leads.append(
                    CrmLead(
                        crm_id=contact,
                        handed_off_at=stage_at or now,
                        time_from=TimeFrom.FIELD if stage_at else TimeFrom.FIRST_SEEN,
                        owner_email=owner,
                        team_value=p.get(c.team_from.by_field) if c.team_from.by_field else None,
                        name=name,
                        company=p.get("company") or None,
                        email=p.get("email") or None,
                        campaign=p.get("hs_analytics_source") or None,
                    )
                )
            status = p.get("hs_lead_status")
            kind = c.lead_status.get(status) if status else None
            at = parse_time(p.get("lastmodifieddate"))
            if kind is not None and at is not None:
                activities.append(
                    CrmActivity(f"{contact}:status:{status}", contact, at, kind, owner)
                )
        return leads, activities

    def _engagements(
        self, obj: str, records: list[dict[str, Any]], now: datetime
    ) -> list[CrmActivity]:
        counted: list[tuple[dict[str, Any], datetime]] = []
        for record in records:
            p = _props(record)
            if obj == "emails" and p.get("hs_email_direction") != OUTGOING_EMAIL:
                continue
            at = parse_time(p.get("hs_timestamp"))
            if obj == "meetings" and (at is None or at > now):
                at = parse_time(p.get("hs_createdate"))  # booked now, held later
            if at is None:
                continue
            counted.append((record, at))
        if not counted:
            return []
        contacts = self.api.contacts_of(obj, [r["id"] for r, _ in counted])
        kind = CrmKind(ActionKind.CONTACTED, channel=CHANNEL[obj])
        found: list[CrmActivity] = []
        for record, at in counted:
            p = _props(record)
            actor = self.owners.email(p.get("hubspot_owner_id"))
            ours = obj == "calls" and is_ours(p.get("hs_call_body"))
            found += [
                CrmActivity(record["id"], contact, at, kind, actor, ours=ours)
                for contact in dict.fromkeys(contacts.get(record["id"], ()))
            ]
        return found


def _props(record: Mapping[str, Any]) -> dict[str, Any]:
    props = record.get("properties")
    return props if isinstance(props, dict) else {}


def _filter(name: str, operator: str, value: str) -> dict[str, str]:
    return {"propertyName": name, "operator": operator, "value": value}


def _offset(after: Any) -> int:
    try:
        return int(str(after))
    except ValueError:
        return 0  # an opaque token: trust the paging


# -- write-back --------------------------------------------------------------------------


class _Action(Protocol):
    """A recorded action as `bot.app.crm.write_back_of` gives it."""

    @property
    def action_id(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def lead_crm_id(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def actor_email(self) -> str | None: ...


def write_back_body(action: _Action) -> str:
    """What the engagement says: the marker and the action id first (what a redelivery
    looks for and the sync skips), then what was done, by whom."""
    what = f"{action.kind}:{action.channel or action.reason or ''}".rstrip(":")
    by = f" by {action.actor_email}" if action.actor_email else ""
    return f"{MARKER} #{action.action_id}: {what}{by} (ignorerate)"


class HubspotSender:
    """Writes a `WriteBack` as one completed call or a note on the lead's contact.

    Exactly once across redelivery: before creating, it searches the contact's calls (or
    notes) at the action's time for one whose body starts with the marker and this action
    id, and takes that one if found. A redelivery comes after the outbox's lease (two
    minutes), far past the search index's lag of seconds; only two sends of one row within
    that lag could both create (the outbox never does that)."""

    platform = Platform.HUBSPOT

    def __init__(
        self,
        engine: Engine,
        config: HubspotConfig,
        *,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        # one try per send: the outbox retries, waits and parks (see `refusal`)
        self.api = HubspotApi(config, tries=1, sleep=sleep, monotonic=monotonic)

    def refusal(self, err: Exception) -> Refusal | None:
        if not isinstance(err, HubspotError):
            return None
        if err.status == 429:
            return Refusal(str(err), wait=timedelta(seconds=err.wait or 1))
        return Refusal(str(err), permanent=err.permanent)

    def send(self, message: Message, sending: Sending) -> str:  # noqa: ARG002 (no pace: the outbox's own)
        match message:
            case WriteBack(action_id=action_id):
                return self._write(action_id)
            case _:
                raise Undeliverable(f"a {type(message).__name__} is not sent to HubSpot")

    def _write(self, action_id: int) -> str:
        kind = self.config.write_back
        if kind not in ("call", "note"):
            raise Undeliverable("crm.hubspot.write_back is off")
        action = crm.write_back_of(self.engine, action_id)
        if action is None:
            raise Undeliverable(f"action {action_id} is gone")
        if action.source != self.platform:
            raise Undeliverable(f"action {action_id} is on a {action.source} lead")
        created = self._existing(kind, action) or self._create(kind, action)
        crm.remember_written(self.engine, self.platform, created, action_id, self.clock.now())
        return created

    def _existing(self, kind: str, action: _Action) -> str | None:
        obj, body_property = (
            ("calls", "hs_call_body") if kind == "call" else ("notes", "hs_note_body")
        )
        found = self.api.search(
            obj,
            {
                "filterGroups": [
                    {
                        "filters": [
                            _filter("associations.contact", "EQ", action.lead_crm_id),
                            _filter("hs_timestamp", "EQ", _ms(action.at)),
                        ]
                    }
                ],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": [body_property],
                "limit": 100,
            },
        )
        prefix = f"{MARKER} #{action.action_id}:"
        for record in found.get("results") or []:
            body = _props(record).get(body_property)
            if isinstance(body, str) and _TAGS.sub("", body, count=1).startswith(prefix):
                return str(record["id"])
        return None

    def _create(self, kind: str, action: _Action) -> str:
        text = write_back_body(action)
        owner = self.api.owner_by_email(action.actor_email) if action.actor_email else None
        if kind == "call":
            properties = {
                "hs_timestamp": _ms(action.at),
                "hs_call_status": "COMPLETED",
                "hs_call_title": "ignorerate",
                "hs_call_body": text,
            }
            type_id = CALL_TO_CONTACT
        else:
            properties = {"hs_timestamp": _ms(action.at), "hs_note_body": text}
            type_id = NOTE_TO_CONTACT
        if owner is not None:
            properties["hubspot_owner_id"] = owner
        return self.api.create(
            kind,
            {
                "properties": properties,
                "associations": [
                    {
                        "to": {"id": action.lead_crm_id},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}
                        ],
                    }
                ],
            },
        )

"""Salesforce, read as a `CrmSource` (handoffs, logged work, merges) and written to by
`SalesforceSender` (a click as one completed Task), through `simple-salesforce`.

Login. simple-salesforce's own JWT and client-credentials logins build the token URL from
a `domain` (https://{domain}.salesforce.com), so a sandbox's My Domain or a test server
cannot be named by its URL. The token request is made here instead (OAuth 2.0 JWT bearer:
an RS256 assertion iss=consumer key, sub=username, aud=SALESFORCE_LOGIN_URL, three minutes
long; or client credentials), and simple-salesforce is given the `instance_url` and
access token the login answered. HTTPS certificates are checked as `requests` checks
them (REQUESTS_CA_BUNDLE names another CA bundle).

What is read, each object with its own `SystemModstamp` cursor, oldest first, one `Page`
per page of results (`nextRecordsUrl`):

- `Lead` (or `Contact`, `handoff.object`): the records for which `handoff.when` holds, as
  handoffs. The time is the `handoff.at` field when set (`TimeFrom.FIELD`), else the
  history's change time of the field a simple `Field = 'Value'` condition names
  (`LeadHistory`, `TimeFrom.HISTORY`), else the moment the sync first saw it
  (`TimeFrom.FIRST_SEEN`). A lead that met the condition only between two syncs (and no
  longer does) is not seen: a datetime field (`MQL_Date__c != null`) is the sure condition.
  The owner is `Owner.Email`; an `OwnerId` of a queue (prefix 00G) means unassigned. The
  campaign is `LeadSource`.
- `Lead:changes`: through `queryAll`, the leads whose `Status` is a mapped one
  (`actions.status`, one action per lead and value: `<lead id>:status:<value>`, at the
  history's change time, else `LastModifiedDate`), converted leads (`contacted:other` at
  `LastModifiedDate`: `ConvertedDate` is a date without a time, and a converted lead is
  read-only, so its last modification is the conversion), and deleted leads. A deleted
  lead with a `MasterRecordId` was merged away: a `Merge`. A deleted lead without one
  changes nothing already counted.
- `Task`: completed (`IsClosed`) tasks whose `WhoId` is a lead (contact), of a configured
  `TaskSubtype`, at `CompletedDateTime` (else `LastModifiedDate`), by the task owner.
  Deleted tasks and events are not read (plain `query`): deleting the record of a call
  does not undo the call.
- `Event`: a meeting (`contacted:meeting`) at its `CreatedDate`, the moment the rep booked
  it (its `ActivityDateTime` may be weeks ahead), by the event owner.

The API budget (`Sforce-Limit-Info: api-usage=used/max`) goes into each `Page`; before
each request the sync stops (`BudgetSpentError`) once what is left is down to
`api_headroom_percent`. `REQUEST_LIMIT_EXCEEDED` and 503 are retried with a bounded
exponential backoff; `INVALID_SESSION_ID` logs in again once. Credentials, the assertion
and the access token never reach a log or an error message.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import jwt
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from bot.app.crm import (
    MARKER,
    BudgetSpentError,
    CrmActivity,
    CrmError,
    CrmLead,
    Merge,
    Page,
    TimeFrom,
    remember_written,
    write_back_of,
)
from bot.app.db import Engine
from bot.app.messages import Message, WriteBack
from bot.clock import Clock
from bot.crmconfig import CrmKind, SalesforceConfig
from bot.outbox.engine import Refusal, Sending, Undeliverable
from metrics.model import ActionKind
from metrics.routing import Platform

log = logging.getLogger(__name__)
T = TypeVar("T")

API_VERSION = "59.0"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TIMEOUT = 60  # seconds, each request
TRIES = 5  # REQUEST_LIMIT_EXCEEDED and 503: tries before giving up
BACKOFF = 2.0  # seconds before the second try; doubled each time
BACKOFF_CAP = 60.0
HISTORY_CHUNK = 200  # ids per history query: a GET's URL stays far under 16 KB
QUEUE_PREFIX = "00G"  # an OwnerId of a queue (a Group)
PREFIXES = {"Lead": "00Q", "Contact": "003"}
MEETING = CrmKind(ActionKind.CONTACTED, channel="meeting")
CONVERTED = CrmKind(ActionKind.CONTACTED, channel="other")
RETRIED_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"})
ORDER = "SystemModstamp, Id"
CONDITION = re.compile(r"^\s*(\w+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*$")


class SalesforceApiError(CrmError):
    """Salesforce answered with an error: `status` (HTTP) and `code` (its errorCode)."""

    def __init__(self, message: str, *, status: int | None, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def soql_string(value: str) -> str:
    """A SOQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_datetime(moment: datetime) -> str:
    """A SOQL datetime literal (whole seconds, UTC; rounded down so nothing is skipped)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def select(fields: Sequence[str], obj: str, where: str = "", order: str = "") -> str:
    """A SOQL query. Its parts are field and object names from the config and our own
    code, and values quoted by `soql_string`."""
    query = f"SELECT {', '.join(dict.fromkeys(fields))} FROM {obj}"  # noqa: S608 (SOQL, quoted)
    if where:
        query += f" WHERE {where}"
    if order:
        query += f" ORDER BY {order}"
    return query


def parse_datetime(value: Any) -> datetime | None:
    """Salesforce's "2026-11-02T01:00:00.000+0000" (None stays None); a time without its
    offset is none. `fromisoformat` reads Salesforce's form at a tenth of `strptime`'s
    cost (two per record in a sync); the `strptime` forms stay for what it refuses."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        return moment.astimezone(UTC) if moment.tzinfo is not None else None
    text = value.replace("Z", "+0000")
    for form in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, form).astimezone(UTC)
        except ValueError:
            continue
    return None


def field_of(record: Mapping[str, Any], path: str) -> Any:
    """A field of a query result, relationship paths (`Owner.Email`) included."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def condition_field(when: str) -> tuple[str, str] | None:
    """(field, value) of a simple `Field = 'Value'` condition, else None."""
    found = CONDITION.match(when)
    if found is None:
        return None
    return found.group(1), re.sub(r"\\(.)", r"\1", found.group(2))


def _error_of(err: SalesforceError) -> tuple[str | None, str]:
    content: Any = err.content
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return (
            str(content[0].get("errorCode") or "") or None,
            str(content[0].get("message") or ""),
        )
    if isinstance(content, Mapping):
        return str(content.get("errorCode") or content.get("error") or "") or None, ""
    return None, ""


def _more(url: str) -> Callable[[Salesforce], Any]:
    def more(sf: Salesforce) -> Any:
        return sf.query_more(url, identifier_is_url=True, timeout=TIMEOUT)

    return more


class SalesforceApi:
    """One logged-in simple-salesforce client, with the rules every call keeps: the
    budget's headroom, the backoff, one new login on INVALID_SESSION_ID."""

    def __init__(
        self,
        config: SalesforceConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        tries: int = TRIES,
        backoff: float = BACKOFF,
    ) -> None:
        self.config = config
        self.sleep = sleep
        self.tries = tries
        self.backoff = backoff
        self.session = requests.Session()
        self.usage: tuple[int, int] | None = None
        self._client: Salesforce | None = None

    # -- login ----------------------------------------------------------------------------

    def _login(self) -> Salesforce:
        cfg = self.config
        url = f"{cfg.login_url}/services/oauth2/token"
        if cfg.username and cfg.private_key_file:
            try:
                key = Path(cfg.private_key_file).read_bytes()
            except OSError as err:
                raise CrmError(
                    f"Salesforce login: cannot read SALESFORCE_PRIVATE_KEY_FILE "
                    f"({type(err).__name__}: {err.strerror})"
                ) from None
            claims = {
                "iss": cfg.client_id,
                "sub": cfg.username,
                "aud": cfg.login_url,
                # the assertion's expiry is real time, as Salesforce's servers read it
                "exp": int(time.time()) + 180,
            }
            try:
                assertion = jwt.encode(claims, key, algorithm="RS256")
            except (ValueError, TypeError, jwt.PyJWTError) as err:
                raise CrmError(
                    f"Salesforce login: SALESFORCE_PRIVATE_KEY_FILE is no RSA private key in "
                    f"PEM ({type(err).__name__})"
                ) from None
            data = {"grant_type": JWT_GRANT, "assertion": assertion}
        else:
            data = {
                "grant_type": "client_credentials",
                "client_id": cfg.client_id,
                "client_secret": cfg.client_secret or "",
            }
        try:
            answer = self.session.post(url, data=data, timeout=TIMEOUT)
        except requests.RequestException as err:
            raise SalesforceApiError(
                f"Salesforce login at {cfg.login_url}: {type(err).__name__}",
                status=None,
                code=None,
            ) from None
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            what = body.get("error") if isinstance(body, dict) else None
            why = body.get("error_description") if isinstance(body, dict) else None
            raise SalesforceApiError(
                f"Salesforce login at {cfg.login_url} refused: HTTP {answer.status_code} "
                f"{what or ''} {why or ''}".strip(),
                status=answer.status_code,
                code=str(what) if what else None,
            )
        return Salesforce(
            instance_url=str(body["instance_url"]),
            session_id=str(body["access_token"]),
            session=self.session,
            version=API_VERSION,
        )

    def close(self) -> None:
        """Closes the pooled connections."""
        self._client = None
        self.session.close()

    def client(self) -> Salesforce:
        if self._client is None:
            self._client = self._login()
        return self._client

    # -- calls ----------------------------------------------------------------------------

    def budget_left(self) -> None:
        """Raises BudgetSpentError once what is left of the daily budget is down to the
        configured headroom."""
        if self.usage is None:
            return
        used, most = self.usage
        headroom = most * self.config.api_headroom_percent / 100
        if most - used <= headroom:
            raise BudgetSpentError(
                f"Salesforce API budget: {used} of {most} daily requests used; the sync "
                f"stops with {self.config.api_headroom_percent}% left (api_headroom_percent) "
                "and goes on when the budget grows"
            )

    def call(self, what: str, fn: Callable[[Salesforce], T], *, retry: bool = True) -> T:
        """`fn(client)`, within the budget; on INVALID_SESSION_ID a new login and one more
        try; on REQUEST_LIMIT_EXCEEDED or 503, a backoff (`retry`) up to `tries` tries."""
        self.budget_left()
        logged_in_again = False
        attempt = 0
        while True:
            attempt += 1
            client = self.client()
            try:
                result = fn(client)
            except SalesforceError as err:
                code, message = _error_of(err)
                if err.status == 401 and not logged_in_again:
                    logged_in_again = True
                    self._client = None
                    attempt -= 1
                    continue
                error = SalesforceApiError(
                    f"Salesforce {what}: HTTP {err.status} {code or ''}: {message}".strip(),
                    status=err.status,
                    code=code,
                )
                if err.status == 401:
                    raise SalesforceApiError(
                        f"Salesforce {what}: the session was refused again after a new login "
                        f"(HTTP 401 {code or ''}); check the connected app and the user",
                        status=401,
                        code=code,
                    ) from None
                busy = code in RETRIED_CODES or err.status in (429, 503)
                if not (retry and busy):
                    raise error from None
                if attempt >= self.tries:
                    raise SalesforceApiError(
                        f"Salesforce {what}: {code or err.status} after {attempt} tries; "
                        "gave up until the next sync",
                        status=err.status,
                        code=code,
                    ) from None
            except requests.RequestException as err:
                if not retry or attempt >= self.tries:
                    raise SalesforceApiError(
                        f"Salesforce {what}: {type(err).__name__} after {attempt} tries",
                        status=None,
                        code=None,
                    ) from None
            else:
                self._note_usage(client)
                return result
            self.sleep(min(BACKOFF_CAP, self.backoff * 2 ** (attempt - 1)))

    def _note_usage(self, client: Salesforce) -> None:
        usage = client.api_usage.get("api-usage")
        if usage is not None:
            self.usage = (int(usage[0]), int(usage[1]))

    def pages(self, what: str, soql: str, *, deleted: bool = False) -> Iterator[list[Any]]:
        """The records of a query, a page at a time, following `nextRecordsUrl`."""

        def first(sf: Salesforce) -> Any:
            return sf.query(soql, include_deleted=deleted, timeout=TIMEOUT)

        answer = self.call(what, first)
        while True:
            yield list(answer.get("records") or [])
            following = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not following:
                return
            answer = self.call(what, _more(str(following)))

    def records(self, what: str, soql: str) -> list[Any]:
        return [record for page in self.pages(what, soql) for record in page]


# -- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _History:
    """The earliest time each record's `field` became `value`, from <Object>History."""

    api: SalesforceApi
    obj: str

    def first_set(
        self, ids: Iterable[str], field: str, values: Mapping[str, str]
    ) -> dict[str, tuple[datetime, str | None]]:
        """id -> (when, by whom) `field` first became `values[id]`; missing when the
        history has no such row (field history off, or set before tracking began)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, tuple[datetime, str | None]] = {}
        parent = f"{self.obj}Id"
        for start in range(0, len(wanted), HISTORY_CHUNK):
            chunk = wanted[start : start + HISTORY_CHUNK]
            soql = select(
                [parent, "NewValue", "CreatedDate", "CreatedBy.Email"],
                f"{self.obj}History",
                f"Field = {soql_string(field)} "
                f"AND {parent} IN ({', '.join(soql_string(i) for i in chunk)})",
                "CreatedDate",
            )
            try:
                rows = self.api.records(f"{self.obj}History", soql)
            except SalesforceApiError as err:
                if err.status == 400:  # history not tracked or not readable: best effort
                    log.info("salesforce: %sHistory not readable (%s); skipped", self.obj, err.code)
                    return found
                raise
            for row in rows:
                record_id = str(row.get(parent) or "")
                at = parse_datetime(row.get("CreatedDate"))
                if at is None or record_id in found or values.get(record_id) is None:
                    continue
                if str(row.get("NewValue")) == values[record_id]:
                    found[record_id] = (at, field_of(row, "CreatedBy.Email"))
        return found


class SalesforceSource:
    """Salesforce as the sync reads it (see the module's docstring)."""

    name = "salesforce"

    def __init__(
        self,
        config: SalesforceConfig,
        *,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = BACKOFF,
    ) -> None:
        self.config = config
        self.clock = clock
        self.api = SalesforceApi(config, sleep=sleep, backoff=backoff)
        self.history = _History(self.api, config.handoff_object)

    def close(self) -> None:
        self.api.close()

    @property
    def changes(self) -> str:
        return f"{self.config.handoff_object}:changes"

    def objects(self) -> Sequence[str]:
        found = [self.config.handoff_object, self.changes]
        if self.config.task_subtypes:
            found.append("Task")
        if self.config.events:
            found.append("Event")
        return found

    def query(self, obj: str, since: datetime | None) -> tuple[str, bool]:
        """The SOQL that reads `obj` from `since`, and whether it reads deleted records
        (queryAll)."""
        if obj == self.config.handoff_object:
            return self._handoff_query(since), False
        if obj == self.changes:
            return self._changes_query(since), True
        if obj == "Task":
            return self._task_query(since), False
        if obj == "Event":
            return self._event_query(since), False
        raise CrmError(f"Salesforce: no object {obj!r}; expected one of {self.objects()}")

    def pages(self, obj: str, since: datetime | None, now: datetime) -> Iterator[Page]:
        query, deleted = self.query(obj, since)
        readers: dict[str, Callable[[str, Sequence[Any], datetime], Page]] = {
            self.config.handoff_object: self._handoffs,
            self.changes: self._changes,
            "Task": self._tasks,
            "Event": self._events,
        }
        read = readers[obj]
        for records in self.api.pages(obj, query, deleted=deleted):
            if not records:
                continue
            page = read(obj, records, now)
            yield Page(
                page.object,
                page.until,
                page.records,
                leads=page.leads,
                activities=page.activities,
                merges=page.merges,
                budget=self.api.usage,
            )

    # -- queries ----------------------------------------------------------------------------

    @staticmethod
    def _since(since: datetime | None) -> str:
        return "" if since is None else f"SystemModstamp >= {soql_datetime(since)}"

    def _where(self, since: datetime | None, *conditions: str) -> str:
        return " AND ".join(p for p in (self._since(since), *conditions) if p)

    def _handoff_query(self, since: datetime | None) -> str:
        cfg = self.config
        obj = cfg.handoff_object
        fields = ["Id", "OwnerId", "Owner.Email", "Name", "Email", "LeadSource", "SystemModstamp"]
        fields.append("Company" if obj == "Lead" else "Account.Name")
        if cfg.handoff_at:
            fields.append(cfg.handoff_at)
        if cfg.team_from.by_field:
            fields.append(cfg.team_from.by_field)
        return select(fields, obj, self._where(since, f"({cfg.handoff_when})"), ORDER)

    def _changes_query(self, since: datetime | None) -> str:
        cfg = self.config
        obj = cfg.handoff_object
        fields = ["Id", "IsDeleted", "MasterRecordId", "SystemModstamp"]
        which = ["IsDeleted = true"]
        if obj == "Lead":
            fields += ["Status", "IsConverted", "LastModifiedDate", "LastModifiedBy.Email"]
            if cfg.status:
                which.append(f"Status IN ({', '.join(soql_string(s) for s in cfg.status)})")
            if cfg.converted:
                which.append("IsConverted = true")
        return select(fields, obj, self._where(since, f"({' OR '.join(which)})"), ORDER)

    def _task_query(self, since: datetime | None) -> str:
        subtypes = ", ".join(soql_string(s) for s in self.config.task_subtypes)
        where = self._where(
            since, "IsClosed = true", "WhoId != null", f"TaskSubtype IN ({subtypes})"
        )
        fields = ["Id", "WhoId", "TaskSubtype", "CompletedDateTime", "LastModifiedDate"]
        fields += ["SystemModstamp", "OwnerId", "Owner.Email", "Description"]
        return select(fields, "Task", where, ORDER)

    def _event_query(self, since: datetime | None) -> str:
        fields = ["Id", "WhoId", "CreatedDate", "SystemModstamp", "OwnerId", "Owner.Email"]
        return select([*fields, "Description"], "Event", self._where(since, "WhoId != null"), ORDER)

    # -- records ---------------------------------------------------------------------------

    @staticmethod
    def _until(records: Sequence[Any]) -> datetime | None:
        stamps = [s for s in (parse_datetime(r.get("SystemModstamp")) for r in records) if s]
        return max(stamps) if stamps else None

    def _handoffs(self, obj: str, records: Sequence[Any], now: datetime) -> Page:
        cfg = self.config
        times: dict[str, tuple[datetime, TimeFrom]] = {}
        for record in records:
            at = parse_datetime(record.get(cfg.handoff_at)) if cfg.handoff_at else None
            if at is not None:
                times[record["Id"]] = (at, TimeFrom.FIELD)
        named = condition_field(cfg.handoff_when)
        rest = [r["Id"] for r in records if r["Id"] not in times]
        if named is not None and rest:
            field, value = named
            found = self.history.first_set(rest, field, dict.fromkeys(rest, value))
            times.update((i, (at, TimeFrom.HISTORY)) for i, (at, _) in found.items())
        leads = []
        for record in records:
            at, time_from = times.get(record["Id"], (now, TimeFrom.FIRST_SEEN))
            owner = str(record.get("OwnerId") or "")
            email = field_of(record, "Owner.Email")
            team_value = (
                field_of(record, cfg.team_from.by_field) if cfg.team_from.by_field else None
            )
            company = record.get("Company") if obj == "Lead" else field_of(record, "Account.Name")
            leads.append(
                CrmLead(
                    crm_id=str(record["Id"]),
                    handed_off_at=at,
                    time_from=time_from,
                    owner_email=None if owner.startswith(QUEUE_PREFIX) or not email else str(email),
                    team_value=None if team_value is None else str(team_value),
                    name=_text(record.get("Name")),
                    company=_text(company),
                    email=_text(record.get("Email")),
                    campaign=_text(record.get("LeadSource")),
                )
            )
        return Page(obj, self._until(records), len(records), leads=leads)

    def _changes(self, obj: str, records: Sequence[Any], _now: datetime) -> Page:
        cfg = self.config
        merges: list[Merge] = []
        activities: list[CrmActivity] = []
        statuses: dict[str, str] = {}
        for record in records:
            if record.get("IsDeleted"):
                if record.get("MasterRecordId"):
                    merges.append(Merge(str(record["Id"]), str(record["MasterRecordId"])))
                continue
            status = record.get("Status")
            if isinstance(status, str) and status in cfg.status:
                statuses[record["Id"]] = status
        found = self.history.first_set(statuses, "Status", statuses) if statuses else {}
        for record in records:
            if record.get("IsDeleted"):
                continue
            lead_id = str(record["Id"])
            modified = parse_datetime(record.get("LastModifiedDate")) or self._until([record])
            by = _text(field_of(record, "LastModifiedBy.Email"))
            if lead_id in statuses and modified is not None:
                value = statuses[lead_id]
                at, who = found.get(lead_id, (modified, by))
                activities.append(
                    CrmActivity(f"{lead_id}:status:{value}", lead_id, at, cfg.status[value], who)
                )
            if cfg.converted and record.get("IsConverted") and modified is not None:
                activities.append(
                    CrmActivity(f"{lead_id}:converted", lead_id, modified, CONVERTED, by)
                )
        return Page(obj, self._until(records), len(records), activities=activities, merges=merges)

    def _who(self, record: Mapping[str, Any]) -> str | None:
        who = str(record.get("WhoId") or "")
        prefix = PREFIXES.get(self.config.handoff_object, "")
        return who if who.startswith(prefix) and who else None

    def _tasks(self, obj: str, records: Sequence[Any], _now: datetime) -> Page:
        activities = []
        for record in records:
            lead_id = self._who(record)
            channel = self.config.task_subtypes.get(str(record.get("TaskSubtype")))
            at = parse_datetime(record.get("CompletedDateTime")) or parse_datetime(
                record.get("LastModifiedDate")
            )
            if lead_id is None or channel is None or at is None:
                continue
            activities.append(
                CrmActivity(
                    str(record["Id"]),
                    lead_id,
                    at,
                    CrmKind(ActionKind.CONTACTED, channel=channel),
                    _owner(record),
                    ours=_ours(record),
                )
            )
        return Page(obj, self._until(records), len(records), activities=activities)

    def _events(self, obj: str, records: Sequence[Any], _now: datetime) -> Page:
        activities = []
        for record in records:
            lead_id = self._who(record)
            at = parse_datetime(record.get("CreatedDate"))
            if lead_id is None or at is None:
                continue
            activities.append(
                CrmActivity(
                    str(record["Id"]), lead_id, at, MEETING, _owner(record), ours=_ours(record)
                )
            )
        return Page(obj, self._until(records), len(records), activities=activities)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _owner(record: Mapping[str, Any]) -> str | None:
    if str(record.get("OwnerId") or "").startswith(QUEUE_PREFIX):
        return None
    return _text(field_of(record, "Owner.Email"))


def _ours(record: Mapping[str, Any]) -> bool:
    return str(record.get("Description") or "").startswith(MARKER)


# -- write-back --------------------------------------------------------------------------

SUBTYPES = {"call": "Call", "email": "Email"}


def task_subject(kind: str, channel: str | None, reason: str | None) -> str:
    if kind == ActionKind.CONTACTED:
        return f"Contacted ({channel or 'other'}) via ignorerate"
    return f"Rejected: {reason or 'other'} (ignorerate)"


class SalesforceSender:
    """Salesforce's half of write-back: a `WriteBack` becomes one completed Task on the
    lead (and, if configured, the lead's Status), through the outbox (its retries and dead
    rows). Exactly once: before creating, it looks for the Task a delivery cut short by a
    crash may have made (same lead, same subject, a description starting with the marker
    and the action's id). The Task's owner is the integration user; the rep is named in
    its description."""

    platform = Platform.SALESFORCE

    def __init__(
        self,
        engine: Engine,
        config: SalesforceConfig,
        *,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        # one try a delivery: the outbox retries, with its own backoff and dead rows
        self.api = SalesforceApi(config, sleep=sleep, tries=1)

    def close(self) -> None:
        self.api.close()

    def refusal(self, err: Exception) -> Refusal | None:
        if isinstance(err, BudgetSpentError):
            return Refusal(str(err), wait=timedelta(hours=1))
        if isinstance(err, SalesforceApiError):
            busy = err.code in RETRIED_CODES or err.status in (429, 503)
            if busy or err.status is None or err.status >= 500 or err.status == 401:
                return Refusal(str(err))
            return Refusal(str(err), permanent=err.status in (400, 403, 404))
        if isinstance(err, CrmError):
            return Refusal(str(err), permanent=True)  # a key file that cannot be read
        return None

    def send(self, message: Message, sending: Sending) -> str:  # noqa: ARG002 (no pace: one Task)
        if not isinstance(message, WriteBack):
            raise Undeliverable(f"a {type(message).__name__} is not sent to Salesforce")
        action = write_back_of(self.engine, message.action_id)
        if action is None:
            raise Undeliverable(f"action {message.action_id} does not exist")
        if action.source != self.name:
            raise Undeliverable(f"action {action.action_id} is on a {action.source} lead")
        reference = ""
        lead = action.lead_crm_id
        if self.config.write_back_task:
            reference = self._task(action.action_id, lead, action)
        value = self.config.write_back_status
        if (
            value is not None
            and action.kind == ActionKind.CONTACTED
            and self.config.handoff_object == "Lead"
        ):
            status_id = f"{lead}:status:{value}"
            # remembered first: a sync between the update and this would count it
            remember_written(self.engine, self.name, status_id, action.action_id, self.clock.now())
            body = json.dumps({"Status": value})
            self.api.call(
                "Lead update",
                lambda sf: sf.restful(
                    f"sobjects/Lead/{lead}", method="PATCH", data=body, timeout=TIMEOUT
                ),
            )
            reference = reference or status_id
        return reference or "nothing-to-write"

    @property
    def name(self) -> str:
        return str(self.platform.value)

    def _task(self, action_id: int, lead: str, action: Any) -> str:
        subject = task_subject(action.kind, action.channel, action.reason)
        tag = f"{MARKER} action {action_id}"
        found = self.api.records(
            "Task lookup",
            select(
                ["Id", "Description"],
                "Task",
                f"WhoId = {soql_string(lead)} AND Subject = {soql_string(subject)}",
            ),
        )
        for task in found:
            description = str(task.get("Description") or "")
            if description == tag or description.startswith(tag + " "):
                task_id = str(task["Id"])
                remember_written(self.engine, self.name, task_id, action_id, self.clock.now())
                return task_id
        by = f" by {action.actor_email}" if action.actor_email else ""
        fields = {
            "WhoId": lead,
            "Subject": subject,
            "Status": "Completed",
            "TaskSubtype": SUBTYPES.get(action.channel or "", "Task")
            if action.kind == ActionKind.CONTACTED
            else "Task",
            "ActivityDate": action.at.date().isoformat(),
            "Description": f"{tag} {action.kind}{by} at {action.at.isoformat()}",
        }
        body = json.dumps(fields)
        created = self.api.call(
            "Task create",
            lambda sf: sf.restful("sobjects/Task/", method="POST", data=body, timeout=TIMEOUT),
        )
        task_id = str(created.get("id") or "") if isinstance(created, Mapping) else ""
        if not task_id:
            raise SalesforceApiError(
                "Salesforce Task create: no id in the answer", status=None, code=None
            )
        remember_written(self.engine, self.name, task_id, action_id, self.clock.now())
        return task_id

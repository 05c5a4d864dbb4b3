"""A local server that answers like Salesforce's REST API over HTTPS (a `trustme` test CA),
written from Salesforce's documented requests and answers, for the real simple-salesforce
client to talk to:

- `POST /services/oauth2/token`: OAuth 2.0 JWT bearer (the RS256 assertion is verified
  with the public key the test made: iss = the consumer key, sub = a user's username,
  aud = this server's URL, exp in the future) and client credentials;
- `GET /services/data/vXX.X/query` and `/queryAll` with a small SOQL reader (SELECT a list
  of fields and relationship fields `Owner.Email`, FROM one object, WHERE with AND, OR,
  parentheses, = != < <= > >=, IN, null, booleans, strings and datetimes, ORDER BY,
  LIMIT), pages of `page_size` records joined by `nextRecordsUrl`; deleted records only
  through queryAll;
- `POST /sobjects/Task|Event` (create) and `PATCH /sobjects/Lead/{id}` (update), with
  INVALID_FIELD, ENTITY_IS_DELETED and NOT_FOUND as Salesforce answers them;
- the `Sforce-Limit-Info: api-usage=N/M` header on every API answer;
- failures on demand: INVALID_SESSION_ID (also `expire_tokens`), REQUEST_LIMIT_EXCEEDED,
  503; merges (the loser deleted with MasterRecordId, its Tasks and Events re-parented to
  the master, their SystemModstamp bumped); field history (`LeadHistory`) of Status.

Times are the fake's own `now`, which the test sets: each write stamps it.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
import trustme
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = "3MVG9-test-consumer-key-not-real"
CLIENT_SECRET = "test-client-secret-not-real-0123456789"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PREFIX = {
    "Lead": "00Q",
    "Contact": "003",
    "Task": "00T",
    "Event": "00U",
    "User": "005",
    "Group": "00G",
    "Account": "001",
    "LeadHistory": "017",
}
STANDARD = {
    "Lead": {
        "Id", "OwnerId", "Name", "Company", "Email", "LeadSource", "Status", "IsConverted",
        "ConvertedDate", "IsDeleted", "MasterRecordId", "CreatedDate", "LastModifiedDate",
        "LastModifiedById", "SystemModstamp",
    },
    "Task": {
        "Id", "WhoId", "Subject", "Status", "TaskSubtype", "ActivityDate", "Description",
        "OwnerId", "IsClosed", "CompletedDateTime", "IsDeleted", "CreatedDate",
        "LastModifiedDate", "SystemModstamp", "Priority",
    },
    "Event": {
        "Id", "WhoId", "Subject", "ActivityDateTime", "DurationInMinutes", "Description",
        "OwnerId", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp",
    },
    "LeadHistory": {"Id", "LeadId", "Field", "OldValue", "NewValue", "CreatedDate", "CreatedById"},
    "User": {"Id", "Email", "Username", "Name"},
    "Group": {"Id", "Email", "Name", "Type"},
}  # fmt: skip
CREATEABLE = {
    "Task": {
        "WhoId", "Subject", "Status", "TaskSubtype", "ActivityDate", "Description", "OwnerId",
        "Priority",
    },
    "Event": {
        "WhoId", "Subject", "ActivityDateTime", "DurationInMinutes", "Description", "OwnerId",
    },
}  # fmt: skip
UPDATEABLE = {"Lead": {"Status", "OwnerId", "Company", "Email", "LeadSource"}}
TRACKED = {"Lead": {"Status", "OwnerId"}}  # field history


def sf_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}+0000"
    )


class SoqlError(ValueError):
    """A query the reader cannot take: Salesforce's MALFORMED_QUERY / INVALID_FIELD."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- a small SOQL reader -------------------------------------------------------------------

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<dt>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"
    r"|(?P<num>-?\d+(?:\.\d+)?)(?![\w-])"
    r"|(?P<op>>=|<=|!=|=|<|>|\(|\)|,)"
    r"|(?P<word>[A-Za-z_][\w.]*))"
)


def tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    at = 0
    text = text.strip()
    while at < len(text):
        match = TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token at {text[at : at + 20]!r}")
        at = match.end()
        kind = match.lastgroup
        value = match.group(kind or "")
        if kind == "str":
            found.append(("value", re.sub(r"\\(.)", r"\1", value[1:-1])))
        elif kind == "dt":
            found.append(("value", datetime.fromisoformat(value.replace("Z", "+00:00"))))
        elif kind == "num":
            found.append(("value", float(value)))
        elif kind == "op":
            found.append(("op", value))
        else:
            low = value.lower()
            if low in ("true", "false"):
                found.append(("value", low == "true"))
            elif low == "null":
                found.append(("value", None))
            elif low in ("and", "or", "in", "not", "select", "from", "where", "order", "by",
                         "limit", "asc", "desc"):  # fmt: skip
                found.append(("kw", low))
            else:
                found.append(("field", value))
    return found


Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass
class Soql:
    fields: list[str]
    obj: str
    where: Predicate
    order: list[str]
    limit: int | None


def _sort_key(name: str) -> Callable[[Mapping[str, Any]], tuple[bool, Any]]:
    def key(record: Mapping[str, Any]) -> tuple[bool, Any]:
        value = record.get(name)
        return value is None, "" if value is None else value

    return key


def _always(_record: Mapping[str, Any]) -> bool:
    return True


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.toks[self.at] if self.at < len(self.toks) else None

    def take(self, kind: str, value: Any = None) -> Any:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            raise SoqlError("MALFORMED_QUERY", f"expected {value or kind}, got {tok}")
        self.at += 1
        return tok[1]

    def maybe(self, kind: str, value: Any) -> bool:
        if self.peek() == (kind, value):
            self.at += 1
            return True
        return False

    def query(self) -> Soql:
        self.take("kw", "select")
        fields = [self.take("field")]
        while self.maybe("op", ","):
            fields.append(self.take("field"))
        self.take("kw", "from")
        obj = self.take("field")
        where: Predicate = _always
        order: list[str] = []
        limit = None
        if self.maybe("kw", "where"):
            where = self.disjunction()
        if self.maybe("kw", "order"):
            self.take("kw", "by")
            order.append(self.take("field"))
            self.maybe("kw", "asc")
            while self.maybe("op", ","):
                order.append(self.take("field"))
                self.maybe("kw", "asc")
        if self.maybe("kw", "limit"):
            limit = int(self.take("value"))
        if self.peek() is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected {self.peek()}")
        return Soql(fields, obj, where, order, limit)

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.maybe("kw", "or"):
            parts.append(self.conjunction())
        return lambda r: any(p(r) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.factor()]
        while self.maybe("kw", "and"):
            parts.append(self.factor())
        return lambda r: all(p(r) for p in parts)

    def factor(self) -> Predicate:
        if self.maybe("op", "("):
            inner = self.disjunction()
            self.take("op", ")")
            return inner
        name = self.take("field")
        if self.maybe("kw", "in"):
            self.take("op", "(")
            values = [self.take("value")]
            while self.maybe("op", ","):
                values.append(self.take("value"))
            self.take("op", ")")
            return lambda r: r.get(name) in values
        op = self.take("op")
        value = self.take("value")
        return lambda r: _compare(r.get(name), op, value)


def _compare(have: Any, op: str, want: Any) -> bool:
    if op == "=":
        return bool(have == want)
    if op == "!=":
        return bool(have != want)
    if have is None or want is None:
        return False
    if isinstance(want, float) and isinstance(have, int | float):
        have = float(have)
    try:
        return bool(
            {"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}[op]
        )
    except TypeError as err:
        raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", str(err)) from None


def parse_soql(text: str) -> Soql:
    return _Parser(text).query()


# -- the fake --------------------------------------------------------------------------


@dataclass
class FakeSalesforce:
    base_url: str = ""
    api_version: str = "59.0"
    page_size: int = 2000
    api_used: int = 0
    api_max: int = 100_000
    now: datetime = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    public_key: bytes = b""  # PEM: the JWT bearer assertions are verified with it
    client_secret: str = CLIENT_SECRET
    run_as: str | None = None  # the client-credentials flow's user (default: the first)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    custom_fields: dict[str, set[str]] = field(default_factory=dict)  # e.g. MQL_Date__c
    requests: Counter[str] = field(default_factory=Counter)
    created: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updated: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    seen_authorization: list[str] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> user id
    failures: list[str] = field(default_factory=list)
    # the n-th queryMore from now hangs (sets `hanging`, then waits `hang_seconds`): a
    # sync can be killed while it waits for a page
    hang_on_more: int | None = None
    hang_seconds: float = 30.0
    hanging: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)  # set on shutdown
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _cursors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # ------------------------------------------------------------ scripting

    def new_id(self, obj: str) -> str:
        return f"{PREFIX[obj]}{next(self._ids):015d}"

    def _table(self, obj: str) -> dict[str, dict[str, Any]]:
        return self.records.setdefault(obj, {})

    def add_field(self, obj: str, name: str) -> None:
        """A custom field (a query naming an unknown one is refused, INVALID_FIELD)."""
        self.custom_fields.setdefault(obj, set()).add(name)

    def add_user(self, email: str, username: str | None = None) -> str:
        user_id = self.new_id("User")
        self._table("User")[user_id] = {
            "Id": user_id,
            "Email": email,
            "Username": username or email,
            "Name": email.split("@", maxsplit=1)[0],
            "IsDeleted": False,
        }
        return user_id

    def add_queue(self, name: str, email: str | None = None) -> str:
        queue_id = self.new_id("Group")
        self._table("Group")[queue_id] = {
            "Id": queue_id, "Name": name, "Email": email, "Type": "Queue", "IsDeleted": False,
        }  # fmt: skip
        return queue_id

    def _stamp(self, record: dict[str, Any], *, created: bool = False) -> None:
        if created:
            record["CreatedDate"] = self.now
        record["LastModifiedDate"] = self.now
        record["SystemModstamp"] = self.now

    def add_lead(self, owner: str, **fields: Any) -> str:
        with self._lock:
            lead_id = self.new_id("Lead")
            record: dict[str, Any] = {
                "Id": lead_id,
                "OwnerId": owner,
                "Name": f"Lead {lead_id[-4:]}",
                "Company": "Acme",
                "Email": f"{lead_id.lower()}@example.org",
                "LeadSource": "Web",
                "Status": "Open - Not Contacted",
                "IsConverted": False,
                "ConvertedDate": None,
                "IsDeleted": False,
                "MasterRecordId": None,
                "LastModifiedById": owner,
            }
            self._stamp(record, created=True)
            self._table("Lead")[lead_id] = record
            self._write("Lead", lead_id, fields, by=owner, history=True)
            return lead_id

    def update(self, obj: str, record_id: str, by: str | None = None, **fields: Any) -> None:
        with self._lock:
            self._write(obj, record_id, fields, by=by, history=True)

    def _write(
        self, obj: str, record_id: str, fields: Mapping[str, Any], *, by: str | None, history: bool
    ) -> None:
        record = self._table(obj)[record_id]
        for name, value in fields.items():
            old = record.get(name)
            record[name] = value
            if history and name in TRACKED.get(obj, ()) and old != value:
                row_id = self.new_id("LeadHistory")
                self._table(f"{obj}History")[row_id] = {
                    "Id": row_id,
                    f"{obj}Id": record_id,
                    "Field": name,
                    "OldValue": old,
                    "NewValue": value,
                    "CreatedDate": self.now,
                    "CreatedById": by,
                    "IsDeleted": False,
                }
        if by is not None:
            record["LastModifiedById"] = by
        self._stamp(record)

    def convert(self, lead_id: str, by: str | None = None) -> None:
        self.update(
            "Lead", lead_id, by=by, IsConverted=True, ConvertedDate=self.now.date().isoformat()
        )

    def log_task(  # noqa: PLR0917 (a task's fields, as a test names them)
        self,
        who: str,
        owner: str,
        subtype: str = "Call",
        status: str = "Completed",
        description: str | None = None,
        completed: bool = True,
    ) -> str:
        with self._lock:
            task_id = self.new_id("Task")
            closed = status == "Completed"
            record: dict[str, Any] = {
                "Id": task_id,
                "WhoId": who,
                "Subject": subtype,
                "Status": status,
                "TaskSubtype": subtype,
                "ActivityDate": self.now.date().isoformat(),
                "Description": description,
                "OwnerId": owner,
                "IsClosed": closed,
                "CompletedDateTime": self.now if closed and completed else None,
                "IsDeleted": False,
            }
            self._stamp(record, created=True)
            self._table("Task")[task_id] = record
            return task_id

    def log_event(self, who: str, owner: str, starts: datetime | None = None) -> str:
        with self._lock:
            event_id = self.new_id("Event")
            record: dict[str, Any] = {
                "Id": event_id,
                "WhoId": who,
                "Subject": "Meeting",
                "ActivityDateTime": starts or self.now,
                "DurationInMinutes": 30,
                "Description": None,
                "OwnerId": owner,
                "IsDeleted": False,
            }
            self._stamp(record, created=True)
            self._table("Event")[event_id] = record
            return event_id

    def delete(self, obj: str, record_id: str) -> None:
        with self._lock:
            record = self._table(obj)[record_id]
            record["IsDeleted"] = True
            self._stamp(record)

    def merge(self, master: str, loser: str) -> None:
        """Salesforce's merge: the loser is deleted with MasterRecordId = master, and its
        Tasks and Events are re-parented to the master (a modification)."""
        with self._lock:
            record = self._table("Lead")[loser]
            record["IsDeleted"] = True
            record["MasterRecordId"] = master
            self._stamp(record)
            for obj in ("Task", "Event"):
                for activity in self._table(obj).values():
                    if activity["WhoId"] == loser:
                        activity["WhoId"] = master
                        self._stamp(activity)

    def fail(self, how: str, times: int = 1) -> None:
        """The next `times` API calls (not logins) answer `how`: "limit"
        (403 REQUEST_LIMIT_EXCEEDED), "503", or "session" (401 INVALID_SESSION_ID)."""
        with self._lock:
            self.failures += [how] * times

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def tasks_created(self) -> list[dict[str, Any]]:
        return [data for obj, data in self.created if obj == "Task"]

    # ------------------------------------------------------------ the wire

    def _limit_headers(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_max}"}

    def _error(self, status: int, code: str, message: str) -> Response:
        return JSONResponse(
            [{"message": message, "errorCode": code}], status, headers=self._limit_headers()
        )

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        with self._lock:
            self.requests["token"] += 1
            grant = form.get("grant_type")
            user_id: str | None = None
            if grant == JWT_GRANT:
                try:
                    claims = jwt.decode(
                        str(form.get("assertion", "")),
                        self.public_key,
                        algorithms=["RS256"],
                        audience=self.base_url,
                        issuer=CLIENT_ID,
                        options={"require": ["exp", "iss", "sub", "aud"]},
                    )
                except jwt.PyJWTError as err:
                    return self._oauth_error("invalid_grant", f"invalid assertion: {err}")
                user_id = next(
                    (
                        u["Id"]
                        for u in self._table("User").values()
                        if u["Username"] == claims["sub"]
                    ),
                    None,
                )
                if user_id is None:
                    return self._oauth_error("invalid_grant", "user hasn't approved this consumer")
            elif grant == "client_credentials":
                if form.get("client_id") != CLIENT_ID or form.get("client_secret") != (
                    self.client_secret
                ):
                    return self._oauth_error("invalid_client", "invalid client credentials")
                user_id = self.run_as or next(iter(self._table("User")), None)
                if user_id is None:
                    return self._oauth_error("invalid_grant", "no run-as user")
            else:
                return self._oauth_error("unsupported_grant_type", "grant type not supported")
            token = f"00Dfake!{uuid.uuid4().hex}"
            self.tokens[token] = user_id
            return JSONResponse(
                {
                    "access_token": token,
                    "instance_url": self.base_url,
                    "id": f"{self.base_url}/id/00Dfake/{user_id}",
                    "token_type": "Bearer",
                    "scope": "api",
                    "issued_at": str(int(time.time() * 1000)),
                }
            )

    @staticmethod
    def _oauth_error(code: str, description: str) -> Response:
        return JSONResponse({"error": code, "error_description": description}, 400)

    def _gate(self, request: Request, kind: str) -> tuple[str | None, Response | None]:
        """Counts the call, checks the token, and answers a scripted failure."""
        self.requests[kind] += 1
        self.api_used += 1
        auth = request.headers.get("authorization", "")
        self.seen_authorization.append(auth)
        user = self.tokens.get(auth.removeprefix("Bearer ").strip())
        if self.failures:
            how = self.failures.pop(0)
            if how == "limit":
                return None, self._error(
                    403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
                )
            if how == "503":
                return None, self._error(503, "SERVER_UNAVAILABLE", "Server Unavailable")
            if how == "session":
                return None, self._error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if user is None:
            return None, self._error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return user, None

    def _row(self, obj: str, record: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {
                "type": obj,
                "url": f"/services/data/v{self.api_version}/sobjects/{obj}/{record['Id']}",
            }
        }
        for name in fields:
            if "." in name:
                relation, _, sub = name.partition(".")
                target_id = record.get(f"{relation}Id")
                target = self._find(target_id) if target_id else None
                if target is None:
                    out[relation] = None
                    continue
                nested = out.get(relation) or {"attributes": {"type": target[0]}}
                nested[sub] = _wire(target[1].get(sub))
                out[relation] = nested
            else:
                out[name] = _wire(record.get(name))
        return out

    def _find(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        for obj, table in self.records.items():
            if record_id in table:
                return obj, table[record_id]
        return None

    def _check_fields(self, soql: Soql) -> None:
        known = set(STANDARD.get(soql.obj, set())) | self.custom_fields.get(soql.obj, set())
        for record in self._table(soql.obj).values():
            known.update(record)
        if soql.obj not in STANDARD and not self.records.get(soql.obj):
            raise SoqlError("INVALID_TYPE", f"sObject type '{soql.obj}' is not supported.")
        for name in soql.fields:
            head = name.split(".")[0]
            if "." in name and f"{head}Id" in known:
                continue
            if name not in known:
                raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{soql.obj}'.")

    async def _query(self, request: Request) -> Response:
        deleted = request.url.path.rstrip("/").endswith("queryAll")
        with self._lock:
            _user, refused = self._gate(request, "queryAll" if deleted else "query")
            if refused is not None:
                return refused
            try:
                soql = parse_soql(request.query_params.get("q", ""))
                self._check_fields(soql)
            except SoqlError as err:
                return self._error(400, err.code, str(err))
            rows = [
                r
                for r in self._table(soql.obj).values()
                if (deleted or not r.get("IsDeleted")) and soql.where(r)
            ]
            for name in reversed(soql.order):
                rows.sort(key=_sort_key(name))
            if soql.limit is not None:
                rows = rows[: soql.limit]
            out = [self._row(soql.obj, r, soql.fields) for r in rows]
            return self._page(out, deleted)

    def _page(self, rows: list[dict[str, Any]], deleted: bool, locator: str = "") -> Response:
        total = len(rows) + (int(locator.rsplit("-", 1)[1]) if locator else 0)
        first, rest = rows[: self.page_size], rows[self.page_size :]
        body: dict[str, Any] = {"totalSize": total, "done": not rest, "records": first}
        if rest:
            cursor = f"01g{uuid.uuid4().hex[:15]}"
            offset = (int(locator.rsplit("-", 1)[1]) if locator else 0) + len(first)
            key = f"{cursor}-{offset}"
            self._cursors[key] = rest
            path = "queryAll" if deleted else "query"
            body["nextRecordsUrl"] = f"/services/data/v{self.api_version}/{path}/{key}"
        return JSONResponse(body, headers=self._limit_headers())

    async def _query_more(self, request: Request) -> Response:
        deleted = "/queryAll/" in request.url.path
        key = request.path_params["locator"]
        if self.hang_on_more is not None:
            self.hang_on_more -= 1
            if self.hang_on_more == 0:  # a page that never comes: the client waits on
                self.hanging.set()
                deadline = time.monotonic() + self.hang_seconds
                while time.monotonic() < deadline and not self.released.is_set():
                    await asyncio.sleep(0.02)
        with self._lock:
            _user, refused = self._gate(request, "query_more")
            if refused is not None:
                return refused
            rows = self._cursors.pop(key, None)
            if rows is None:
                return self._error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return self._page(rows, deleted, locator=key)

    async def _create(self, request: Request) -> Response:
        obj = request.path_params["obj"]
        data = await request.json()
        with self._lock:
            user, refused = self._gate(request, f"create {obj}")
            if refused is not None:
                return refused
            if obj not in CREATEABLE:
                return self._error(
                    404, "NOT_FOUND", f"The requested resource does not exist: {obj}"
                )
            for name in data:
                if name not in CREATEABLE[obj]:
                    return self._error(
                        400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj}"
                    )
            who = self._find(str(data.get("WhoId") or ""))
            if data.get("WhoId") and (who is None or who[1].get("IsDeleted")):
                return self._error(400, "ENTITY_IS_DELETED", "entity is deleted")
            record_id = self.new_id(obj)
            record = {"Id": record_id, "IsDeleted": False, "OwnerId": user, **data}
            if obj == "Task":
                record["IsClosed"] = data.get("Status") == "Completed"
                record["CompletedDateTime"] = self.now if record["IsClosed"] else None
            self._stamp(record, created=True)
            self._table(obj)[record_id] = record
            self.created.append((obj, dict(data)))
            return JSONResponse(
                {"id": record_id, "success": True, "errors": []},
                201,
                headers=self._limit_headers(),
            )

    async def _update(self, request: Request) -> Response:
        obj, record_id = request.path_params["obj"], request.path_params["id"]
        data = await request.json()
        with self._lock:
            user, refused = self._gate(request, f"update {obj}")
            if refused is not None:
                return refused
            record = self._table(obj).get(record_id)
            if record is None or obj not in UPDATEABLE:
                return self._error(404, "NOT_FOUND", "The requested resource does not exist")
            if record.get("IsDeleted"):
                return self._error(404, "ENTITY_IS_DELETED", "entity is deleted")
            for name in data:
                if name not in UPDATEABLE[obj]:
                    return self._error(
                        400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj}"
                    )
            self._write(obj, record_id, data, by=user, history=True)
            self.updated.append((obj, record_id, dict(data)))
            return Response(status_code=204, headers=self._limit_headers())

    def app(self) -> Starlette:
        data = "/services/data/v{version}"
        return Starlette(
            routes=[
                Route("/services/oauth2/token", self._token, methods=["POST"]),
                Route(f"{data}/query/", self._query),
                Route(f"{data}/queryAll/", self._query),
                Route(f"{data}/query", self._query),
                Route(f"{data}/queryAll", self._query),
                Route(f"{data}/query/{{locator}}", self._query_more),
                Route(f"{data}/queryAll/{{locator}}", self._query_more),
                Route(f"{data}/sobjects/{{obj}}/", self._create, methods=["POST"]),
                Route(f"{data}/sobjects/{{obj}}/{{id}}", self._update, methods=["PATCH"]),
            ]
        )


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):
        return sf_time(value)
    return value


@dataclass(frozen=True)
class Keys:
    """A connected app's key pair, as files: the private key the bot signs with."""

    private_key_file: Path
    public_key: bytes


def make_keys(directory: Path) -> Keys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "salesforce.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Keys(path, public)


@contextmanager
def fake_salesforce(
    directory: Path, public_key: bytes = b""
) -> Iterator[tuple[FakeSalesforce, Path]]:
    """Serves a fake Salesforce over HTTPS on a loopback port; yields it and the file of
    the CA that signed its certificate (give it to requests as REQUESTS_CA_BUNDLE)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file = directory / "salesforce-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    pem = directory / "salesforce-server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    fake = FakeSalesforce(public_key=public_key)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        fake.app(),
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(pem),
        ssl_keyfile=str(pem),
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake Salesforce did not start")
        time.sleep(0.01)
    fake.base_url = f"https://127.0.0.1:{port}"
    try:
        yield fake, ca_file
    finally:
        fake.released.set()  # a hanging page answers now, so the server stops cleanly
        # idle keep-alive TLS connections are dropped, not shut down politely: a client
        # that is gone never answers the TLS close and the server would wait for it
        for connection in list(server.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                connection.loop.call_soon_threadsafe(transport.abort)
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

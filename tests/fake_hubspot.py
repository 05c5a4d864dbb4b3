"""A local HubSpot: the CRM v3 search, owners, v4 batch association reads and engagement
creates, written from HubSpot's documented requests and responses, served over real HTTP
so that `hubspot-api-client` talks to it through HUBSPOT_API_URL.

Like HubSpot it: checks the bearer token (401); pages search results with `after`
(`limit` at most 200); returns at most `cap` results per query (10,000; lower it in tests)
and answers 400 to a page past it; shows a write in search only `index_delay` seconds
after it (by its own clock, `now`); and fails on demand (429 with a `policyName` and
Retry-After, 500). Filters: EQ, NEQ, GT, GTE, LT, LTE, HAS_PROPERTY on properties, and
EQ on `associations.contact`; times compare as milliseconds.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes import serve

TOKEN = "pat-na1-test-token-not-real"
CLIENT_SECRET = "hubspot-client-secret-not-real"
TIME_PROPS = frozenset(
    {"lastmodifieddate", "hs_lastmodifieddate", "createdate", "hs_createdate", "hs_timestamp"}
)
MAX_LIMIT = 200


def iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def ms_of(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _modified(obj: str) -> str:
    return "lastmodifieddate" if obj == "contacts" else "hs_lastmodifieddate"


@dataclass
class Record:
    id: str
    obj: str
    props: dict[str, str]
    modified_ms: int
    visible_ms: int  # when search shows it (its index lag)
    tie: int  # the order of records sharing one modification time: not by id

    def key(self) -> tuple[int, int, int]:
        return (self.modified_ms, self.tie, int(self.id))


@dataclass
class FakeHubspot:
    now_ms: int = field(default_factory=lambda: ms_of(datetime(2026, 11, 2, 1, 0, tzinfo=UTC)))
    index_delay: float = 0.0  # seconds a write takes to show in search
    cap: int = 10_000
    token: str = TOKEN
    url: str = ""
    owners: dict[str, str] = field(default_factory=dict)  # id -> email
    records: dict[str, Record] = field(default_factory=dict)
    links: dict[str, list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )  # eng -> contacts
    created: list[dict[str, Any]] = field(default_factory=list)  # bodies of API creates
    requests: Counter[str] = field(default_factory=Counter)
    searches: list[dict[str, Any]] = field(default_factory=list)
    # every read as it came (method, path and query, body): what a benchmark replays
    reads: list[tuple[str, str, bytes]] = field(default_factory=list)
    failures: dict[str, deque[tuple[str, int | None]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    _sorted: dict[str, list[tuple[tuple[int, int, int], str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    _pending: dict[str, int] = field(default_factory=dict)  # id -> visible_ms, not yet shown
    _next_id: int = 1000
    _rng: random.Random = field(default_factory=lambda: random.Random(13))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------ scripting

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ms / 1000, UTC)

    def at(self, moment: datetime) -> None:
        self.now_ms = ms_of(moment)

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)

    def reset(self) -> None:
        """No records, no requests, no failures (owners, cap and token stay)."""
        with self._lock:
            self.records.clear()
            self.links.clear()
            self.created.clear()
            self.requests.clear()
            self.searches.clear()
            self.reads.clear()
            self.failures.clear()
            self._sorted.clear()
            self._pending.clear()

    def add_owner(self, owner_id: str, email: str) -> None:
        self.owners[owner_id] = email

    def fail(self, kind: str, how: str, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` requests of `kind` ("search", "owners", "associations",
        "create") answer `how`: "429:SECONDLY", "429:DAILY", "429:TEN_SECONDLY_ROLLING"
        (with Retry-After when given) or "500"."""
        for _ in range(times):
            self.failures[kind].append((how, retry_after))

    def add(
        self,
        obj: str,
        props: dict[str, Any] | None = None,
        *,
        contacts: tuple[str, ...] = (),
        modified: datetime | None = None,
        record_id: str | None = None,
    ) -> str:
        """A record written now (or last modified at `modified`); `contacts`: the contacts
        an engagement is associated with. Returns its id."""
        with self._lock:
            if record_id is None:
                self._next_id += 1
                record_id = str(self._next_id)
            self._write(obj, record_id, {k: str(v) for k, v in (props or {}).items()}, modified)
            for contact in contacts:
                self.links[record_id].append(contact)
        return record_id

    def update(
        self, record_id: str, props: dict[str, Any], modified: datetime | None = None
    ) -> None:
        with self._lock:
            record = self.records[record_id]
            merged = {**record.props, **{k: str(v) for k, v in props.items()}}
            self._write(record.obj, record_id, merged, modified)

    def contact(self, **props: Any) -> str:
        return self.add("contacts", props)

    def engagement(self, obj: str, contacts: tuple[str, ...], **props: Any) -> str:
        return self.add(obj, props, contacts=contacts)

    def of(self, obj: str) -> list[Record]:
        return [r for r in self.records.values() if r.obj == obj]

    def _write(
        self, obj: str, record_id: str, props: dict[str, str], modified: datetime | None
    ) -> None:
        old = self.records.get(record_id)
        if old is not None:
            index = self._sorted[obj]
            del index[bisect.bisect_left(index, (old.key(), record_id))]
        modified_ms = ms_of(modified) if modified is not None else self.now_ms
        props = {
            **props,
            "hs_object_id": record_id,
            _modified(obj): iso(modified_ms),
            "createdate" if obj == "contacts" else "hs_createdate": (
                old.props.get("createdate" if obj == "contacts" else "hs_createdate", "")
                if old
                else iso(modified_ms)
            ),
        }
        visible = self.now_ms + int(self.index_delay * 1000)
        record = Record(record_id, obj, props, modified_ms, visible, self._rng.randrange(1 << 30))
        self.records[record_id] = record
        bisect.insort(self._sorted[obj], (record.key(), record_id))
        if visible > self.now_ms:
            self._pending[record_id] = visible

    # ------------------------------------------------------------ the server

    def _failure(self, kind: str) -> Response | None:
        with self._lock:
            self.requests[kind] += 1
            failure = self.failures[kind].popleft() if self.failures[kind] else None
        if failure is None:
            return None
        how, retry_after = failure
        if how.startswith("429:"):
            policy = how.partition(":")[2]
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return JSONResponse(
                {
                    "status": "error",
                    "message": f"You have reached your {policy.lower()} limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": "00000000-0000-0000-0000-000000000000",
                    "policyName": policy,
                },
                status_code=429,
                headers=headers,
            )
        return JSONResponse(
            {"status": "error", "message": "internal error", "category": "INTERNAL_ERROR"},
            status_code=500,
        )

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _guard(self, request: Request, kind: str) -> Response | None:
        if not self._authorized(request):
            with self._lock:
                self.requests["unauthorized"] += 1
            return _error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found.",
            )
        return self._failure(kind)

    async def _search(self, request: Request) -> Response:
        if (refused := await self._guard(request, "search")) is not None:
            return refused
        obj = request.path_params["obj"]
        raw = await request.body()
        body = json.loads(raw or b"{}")
        with self._lock:
            self.reads.append(("POST", request.url.path, raw))
            self.searches.append({"obj": obj, **body})
            return self._answer_search(obj, body)

    def _answer_search(self, obj: str, body: dict[str, Any]) -> Response:
        limit = int(body.get("limit", 10))
        if not 0 < limit <= MAX_LIMIT:
            return _error(400, "VALIDATION_ERROR", f"limit must be 1..{MAX_LIMIT}")
        after = int(body.get("after") or 0)
        if after >= self.cap:
            return _error(400, "VALIDATION_ERROR", f"paging past {self.cap} results")
        groups = body.get("filterGroups") or []
        sorts = body.get("sorts") or []
        sort = sorts[0]["propertyName"] if sorts else "hs_object_id"
        descending = bool(sorts) and sorts[0].get("direction") == "DESCENDING"
        for pid in [p for p, v in self._pending.items() if v <= self.now_ms]:
            del self._pending[pid]
        index = self._sorted[obj]
        begin, plain = self._range(obj, groups, sort)

        def matching() -> Iterator[Record]:
            for i in range(begin, len(index)):
                r = self.records[index[i][1]]
                if r.visible_ms <= self.now_ms and (
                    not groups or any(self._all(r, g) for g in groups)
                ):
                    yield r

        if plain and not self._pending and not descending:
            # a time range alone, everything indexed (an incremental read): the matches
            # are a slice of the index, read only as far as this page needs
            total = len(index) - begin
            wanted = min(after + limit + 1, self.cap)
            visible = list(itertools.islice(matching(), wanted))
            more = after + limit < min(total, self.cap)
        else:
            matches = list(matching())
            if sort != _modified(obj):
                matches.sort(key=lambda r: _sort_value(r, sort))
            if descending:
                matches.reverse()
            total = len(matches)
            visible = matches[: self.cap]
            more = after + limit < len(visible)
        page = visible[after : after + limit]
        props = body.get("properties") or []
        answer: dict[str, Any] = {
            "total": total,
            "results": [
                {
                    "id": r.id,
                    "properties": {p: r.props.get(p) for p in {*props, "hs_object_id"}},
                    "createdAt": r.props.get("createdate") or r.props.get("hs_createdate"),
                    "updatedAt": r.props.get(_modified(obj)),
                    "archived": False,
                }
                for r in page
            ],
        }
        if more:
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return JSONResponse(answer)

    def _range(self, obj: str, groups: list[dict[str, Any]], sort: str) -> tuple[int, bool]:
        """Where in the time-sorted index a query can start (the lower bound one group
        puts on the modification time), and whether that bound is all it asks."""
        if sort != _modified(obj) or len(groups) != 1:
            return 0, not groups and sort == _modified(obj)
        begin, plain = 0, True
        for f in groups[0].get("filters") or []:
            if f.get("propertyName") == _modified(obj) and f.get("operator") in ("GT", "GTE"):
                bound = int(f["value"]) + (1 if f["operator"] == "GT" else 0)
                begin = bisect.bisect_left(self._sorted[obj], ((bound, -1, -1), ""))
            else:
                plain = False
        return begin, plain

    def _all(self, record: Record, group: dict[str, Any]) -> bool:
        return all(self._holds(record, f) for f in group.get("filters") or [])

    def _holds(self, record: Record, f: dict[str, Any]) -> bool:  # noqa: PLR0911
        name, op, value = f["propertyName"], f["operator"], f.get("value")
        if name.startswith("associations."):
            return op == "EQ" and str(value) in self.links.get(record.id, [])
        have = record.props.get(name)
        if op == "HAS_PROPERTY":
            return have not in (None, "")
        if op == "NOT_HAS_PROPERTY":
            return have in (None, "")
        if have in (None, ""):
            return False
        left, right = _comparable(name, have), _comparable(name, value)
        result: bool
        if op == "EQ":
            result = left == right
            return result
        if op == "NEQ":
            result = left != right
            return result
        if op == "GT":
            result = left > right
            return result
        if op == "GTE":
            result = left >= right
            return result
        if op == "LT":
            result = left < right
            return result
        if op == "LTE":
            result = left <= right
            return result
        raise ValueError(f"operator {op} is not in the fake")

    async def _owners(self, request: Request) -> Response:
        if (refused := await self._guard(request, "owners")) is not None:
            return refused
        with self._lock:
            self.reads.append(("GET", f"{request.url.path}?{request.url.query}", b""))
        email = request.query_params.get("email")
        limit = int(request.query_params.get("limit") or 100)
        after = int(request.query_params.get("after") or 0)
        owners = [
            {"id": oid, "email": mail, "type": "PERSON", "archived": False}
            for oid, mail in sorted(self.owners.items())
            if email is None or mail == email
        ]
        answer: dict[str, Any] = {"results": owners[after : after + limit]}
        if after + limit < len(owners):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return JSONResponse(answer)

    async def _associations(self, request: Request) -> Response:
        if (refused := await self._guard(request, "associations")) is not None:
            return refused
        if request.path_params["to"] != "contacts":
            return _error(400, "VALIDATION_ERROR", "the fake links engagements to contacts")
        raw = await request.body()
        body = json.loads(raw or b"{}")
        results = []
        with self._lock:
            self.reads.append(("POST", request.url.path, raw))
            for item in body.get("inputs") or []:
                linked = self.links.get(str(item["id"]), [])
                if linked:
                    results.append(
                        {
                            "from": {"id": str(item["id"])},
                            "to": [
                                {
                                    "toObjectId": int(c),
                                    "associationTypes": [
                                        {
                                            "category": "HUBSPOT_DEFINED",
                                            "typeId": 194,
                                            "label": None,
                                        }
                                    ],
                                }
                                for c in linked
                            ],
                        }
                    )
        return JSONResponse({"status": "COMPLETE", "results": results}, status_code=200)

    async def _create(self, request: Request) -> Response:
        if (refused := await self._guard(request, "create")) is not None:
            return refused
        obj = request.path_params["obj"]
        body = json.loads(await request.body() or b"{}")
        props = body.get("properties") or {}
        if obj not in ("calls", "notes"):
            return _error(400, "VALIDATION_ERROR", f"the fake creates calls and notes, not {obj}")
        if "hs_timestamp" not in props:
            return _error(400, "VALIDATION_ERROR", "Property values were not valid: hs_timestamp")
        contacts = []
        for assoc in body.get("associations") or []:
            contact = str(assoc["to"]["id"])
            if self.records.get(contact) is None:
                return _error(400, "VALIDATION_ERROR", f"no contact {contact}")
            contacts.append(contact)
        created = self.add(
            obj,
            {**props, "hs_timestamp": iso(int(props["hs_timestamp"]))},
            contacts=tuple(contacts),
        )
        with self._lock:
            self.created.append({"obj": obj, "id": created, **body})
        record = self.records[created]
        return JSONResponse(
            {
                "id": created,
                "properties": record.props,
                "createdAt": iso(self.now_ms),
                "updatedAt": iso(self.now_ms),
                "archived": False,
            },
            status_code=201,
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/crm/v3/objects/{obj}/search", self._search, methods=["POST"]),
                Route("/crm/v3/objects/{obj}", self._create, methods=["POST"]),
                Route("/crm/v3/owners/", self._owners, methods=["GET"]),
                Route("/crm/v3/owners", self._owners, methods=["GET"]),
                Route(
                    "/crm/v4/associations/{from}/{to}/batch/read",
                    self._associations,
                    methods=["POST"],
                ),
            ]
        )


def _comparable(name: str, value: Any) -> Any:
    text = str(value)
    if name in TIME_PROPS:
        if text.isdigit():
            return int(text)
        return ms_of(datetime.fromisoformat(text.replace("Z", "+00:00")))
    if name == "hs_object_id":
        return int(text)
    return text


def _sort_value(record: Record, name: str) -> tuple[Any, int]:
    have = record.props.get(name)
    return (_comparable(name, have) if have not in (None, "") else 0, int(record.id))


def _error(status: int, category: str, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "status": "error",
            "message": message,
            "correlationId": "00000000-0000-0000-0000-000000000000",
            "category": category,
        },
        status_code=status,
    )


@contextmanager
def fake_hubspot(**options: Any) -> Iterator[FakeHubspot]:
    fake = FakeHubspot(**options)
    with serve(fake.app()) as url:
        fake.url = url
        yield fake


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)

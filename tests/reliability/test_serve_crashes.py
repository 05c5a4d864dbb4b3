"""`kill -9` of a real `ignorerate serve`, then a restart: nothing lost, and a duplicate
only where a crash made one possible, counted.

- During a sweep: the first tick of `serve` sweeps leads that are already past their
  deadline. It is killed while the sweep's transaction holds the tick's advisory lock
  (seen from another connection), so the transaction dies uncommitted; after a restart
  every due lead has exactly its one reminder and is in exactly one digest.
- During delivery: Slack (the local fake) holds one chat.postMessage and then does the
  work anyway, as Slack does when a client gives up; `serve` is killed while that send is
  in flight. After a restart, once the claim's lease expires, the message goes again:
  every card and digest reaches Slack, at least once, and no more duplicates than crashes.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import yaml
from sqlalchemy import Engine, func, select, text
from starlette.requests import Request
from starlette.responses import Response

from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.clock import SystemClock
from bot.config import parse_settings
from bot.scheduler import TICK_LOCK
from storage.engine import make_engine
from storage.tables import Nudge, OutboxMessage
from tests.conftest import reset
from tests.e2e.conftest import SIGNING_SECRET
from tests.fakes import BOT_TOKEN, FakeSlack
from tests.fakes import serve as serve_asgi
from tests.reliability.processes import LOAD, running_serve, serve_env

WAIT = 120.0  # seconds: generous, the machine is shared; every wait ends on an event
REPS = {"UA": "a@example.com", "UB": "b@example.com", "UC": "c@example.com"}
CONFIG: dict[str, Any] = {
    "timezone": "UTC",
    "locale": "en",
    "delivery": {"per_channel_per_second": 100_000, "per_second": 100_000},
    "teams": [
        {
            "name": "sales",
            "timezone": "UTC",
            "sla": {"minutes": 60, "business_hours": False},
            "slack_channel": "CSALES",
            "managers": ["boss@example.com"],
            "reps": sorted(REPS.values()),
            "summary": False,  # the ticks here sweep, nothing else
        }
    ],
}
OUTBOX = OutboxMessage.__table__
NUDGES = Nudge.__table__


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "ignorerate.yml"
    path.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    return path


def _seed_due_leads(url: str, count: int) -> set[int]:
    """`count` leads handed off 90 minutes ago, untouched: each is 30 minutes past its
    deadline (a reminder is due) and 30 minutes short of its escalation."""
    engine = make_engine(url)
    reset(engine)
    settings = parse_settings(CONFIG, "test.yml", env={})
    now = SystemClock().now()
    owners = sorted(REPS.values())
    ids: set[int] = set()
    for start in range(0, count, 500):
        batch = [
            LeadInput(
                "web",
                f"L{i}",
                now - timedelta(minutes=90),
                "sales",
                owners[i % len(owners)],
                *[None] * 4,
            )
            for i in range(start, min(count, start + 500))
        ]
        ids |= set(receive_handoffs(engine, settings, batch, now).ids.values())
    engine.dispose()
    assert len(ids) == count
    return ids


def _count(engine: Engine, statement: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


def _sweeping(engine: Engine) -> str | None:
    """The statement of the session holding the tick's advisory lock in this database
    (its transaction is open: the lock ends with it), or None when no tick holds it."""
    query = text(
        "SELECT a.query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with engine.connect() as conn:
        found = conn.execute(query, {"key": TICK_LOCK}).scalar()
    return None if found is None else str(found)


# what a sweep's session runs, in order (bot/app/sweep.py): a crash is aimed at each in turn
STAGES = ("SELECT leads.id", "INSERT INTO nudges", "UPDATE leads SET next_nudge_at")


def _stage(statement: str | None) -> int:
    """How far the sweep holding the lock has got: an index in STAGES, -1 before them."""
    if statement is None:
        return -1
    found = [i for i, stage in enumerate(STAGES) if stage in statement]
    return found[0] if found else -1


def _until(condition: Any, what: str, poll: float = 0.01) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT}s for {what}"
        time.sleep(poll)


def _digests(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        payloads = conn.execute(select(OUTBOX.c.payload).where(OUTBOX.c.key.like("digest:%")))
        return [json.loads(p) for p in payloads.scalars()]


@pytest.mark.slow
def test_serve_killed_during_a_sweep_then_restarted_sends_each_nudge_once(
    pg_url: str, tmp_path: Path
) -> None:
    due = _seed_due_leads(pg_url, LOAD.due_leads)
    env = serve_env(pg_url, _config(tmp_path))  # Slack off: the sweep, nothing else
    engine = make_engine(pg_url)
    try:
        for crash in range(LOAD.crashes):
            target = crash % len(STAGES)
            seen: list[str | None] = []

            def under_way(seen: list[str | None] = seen, target: int = target) -> bool:
                statement = _sweeping(engine)
                if statement is None and seen:
                    raise AssertionError(f"the sweep ended before the kill: {seen}")
                if statement is not None:
                    seen.append(statement)
                return _stage(statement) >= target or not serve.alive()

            with running_serve(env) as serve:
                _until(under_way, f"a sweep to reach {STAGES[target]}")
                assert serve.alive(), serve.log()
                serve.kill()
            # the server side ends the dead client's transaction: nothing of it remains
            _until(lambda: _sweeping(engine) is None, "the killed sweep's lock to go")
            recorded = _count(engine, select(func.count()).select_from(NUDGES))
            assert recorded == 0, f"crash {crash + 1}: the sweep had committed before the kill"
            assert _digests(engine) == []
            print(
                f"crash {crash + 1}: serve killed mid-sweep over {len(due)} due leads, "
                f"its session running: {' '.join(str(seen[-1]).split())[:60]}..."
            )

        with running_serve(env) as serve:
            line = serve.wait_line("tick: ", timeout=WAIT)
            serve.wait_healthy()  # serving, so that Ctrl-C stops a server, not a start
            assert serve.stop() == 0, serve.log()
        print(f"after {LOAD.crashes} crashes: {line.split(': ', 1)[-1]}")

        with engine.connect() as conn:
            nudges = conn.execute(select(NUDGES.c.lead_id, NUDGES.c.kind, NUDGES.c.cycle)).all()
        digests = _digests(engine)
    finally:
        engine.dispose()
    # every due lead exactly its reminder, nothing else, nothing twice
    assert Counter((lead, kind, cycle) for lead, kind, cycle in nudges) == Counter(
        {(lead, "reminder", 0): 1 for lead in due}
    )
    # and it is in exactly one digest: its owner's, one per rep
    assert sorted(d["to"] for d in digests) == sorted(REPS.values())
    assert {d["audience"] for d in digests} == {"rep"}
    listed = Counter(lead for d in digests for lead in d["lead_ids"])
    assert listed == Counter(due)


@dataclass
class StallingSlack(FakeSlack):
    """The fake Slack, able to hold the n-th chat.postMessage from now for a while and
    then take it (Slack did the work although the client may be gone by then)."""

    stall_at: int = 0
    stall_seconds: float = 0
    arrived: int = 0
    stalled: threading.Event = field(default_factory=threading.Event)
    stalled_keys: list[str] = field(default_factory=list)
    holding: int = 0

    def stall_next(self, nth: int, seconds: float) -> None:
        with self._lock:
            self.stall_at = self.arrived + nth
            self.stall_seconds = seconds
            self.stalled.clear()

    def quiet(self) -> bool:
        """No held request is still waiting to be taken."""
        with self._lock:
            return self.holding == 0

    async def _api(self, request: Request) -> Response:
        if request.path_params["method"] != "chat.postMessage":
            return await super()._api(request)
        raw = await request.body()  # read now: the client may be gone when it is answered
        with self._lock:
            self.arrived += 1
            hold = self.arrived == self.stall_at
            if hold:
                self.holding += 1
        if not hold:
            return await super()._api(request)
        if request.headers.get("content-type", "").startswith("application/json"):
            params = json.loads(raw or b"{}")
        else:
            params = dict(parse_qsl(raw.decode()))
        meta = params.get("metadata")
        meta = json.loads(meta) if isinstance(meta, str) else meta
        with self._lock:
            self.stalled_keys.append(str(meta["event_payload"]["key"]))
        self.stalled.set()
        try:
            await asyncio.sleep(self.stall_seconds)
            return await super()._api(request)
        finally:
            with self._lock:
                self.holding -= 1


@contextmanager
def stalling_slack() -> Iterator[StallingSlack]:
    fake = StallingSlack()
    for user_id, email in REPS.items():
        fake.add_user(user_id, email)
    with serve_asgi(fake.app()) as url:
        fake.url = url
        yield fake


# a send never outlasts SLACK_API_TIMEOUT; the lease outlasts it (as serve insists), and
# the held send outlasts the moment it takes to kill serve once the fake holds it
API_TIMEOUT = 9
LEASE = 10
HOLD = 8.0


@pytest.mark.slow
def test_serve_killed_during_delivery_then_restarted_delivers_everything(
    database_url: str, tmp_path: Path
) -> None:
    leads = _seed_due_leads(database_url, LOAD.delivery_leads)
    engine = make_engine(database_url)
    with stalling_slack() as slack:
        env = serve_env(
            database_url,
            _config(tmp_path),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"{slack.url}/api/",
            SLACK_API_TIMEOUT=str(API_TIMEOUT),
            IGNORERATE_OUTBOX_LEASE=str(LEASE),
        )
        try:
            for crash in range(LOAD.crashes):
                slack.stall_next(2, HOLD)  # one message goes, the next is held
                with running_serve(env) as serve:
                    assert slack.stalled.wait(WAIT), f"no send was held; log:\n{serve.log()}"
                    serve.kill()
                key = slack.stalled_keys[-1]
                with engine.connect() as conn:
                    status = conn.execute(
                        select(OUTBOX.c.status).where(OUTBOX.c.key == key)
                    ).scalar_one()
                assert status == "pending", f"crash {crash + 1}: {key} was not in flight"
                print(f"crash {crash + 1}: serve killed while sending {key}")

            slack_rows = (
                select(func.count()).select_from(OUTBOX).where(OUTBOX.c.platform == "slack")
            )
            with running_serve(env) as serve:
                # the sweep's three digests are queued, and every message is sent
                _until(
                    lambda: (
                        _count(engine, slack_rows.where(OUTBOX.c.key.like("digest:%"))) == 3
                        and _count(engine, slack_rows.where(OUTBOX.c.status != "sent")) == 0
                    ),
                    "every message to be sent",
                    poll=0.1,
                )
                serve.wait_healthy()
                assert serve.stop() == 0, serve.log()
            _until(slack.quiet, "the held requests to be taken", poll=0.05)
            with engine.connect() as conn:
                rows = conn.execute(
                    select(OUTBOX.c.key, OUTBOX.c.status, OUTBOX.c.redeliveries).where(
                        OUTBOX.c.platform == "slack"
                    )
                ).all()
        finally:
            engine.dispose()
        delivered = slack.delivered()
        stalled = list(slack.stalled_keys)

    keys = {key for key, _, _ in rows}
    assert len(keys) == len(leads) + 3  # a card per lead and a digest per rep
    assert {status for _, status, _ in rows} == {"sent"}
    # every card and digest reached Slack...
    assert set(delivered) == keys
    duplicates = {key: n - 1 for key, n in delivered.items() if n > 1}
    redelivered = {key: r for key, _, r in rows if r}
    print(
        f"{len(keys)} messages, {LOAD.crashes} crashes; held when killed: {stalled}; "
        f"redelivered after a crash: {redelivered}; duplicates in Slack: {duplicates}"
    )
    # ...each message held at a crash was taken over once its claim expired...
    assert set(stalled) <= set(redelivered)
    # ...and a duplicate only where a crash left a claim to expire, one at most per crash
    assert sum(redelivered.values()) <= LOAD.crashes
    assert set(duplicates) <= set(redelivered)
    assert sum(duplicates.values()) <= sum(redelivered.values())


@pytest.mark.parametrize(
    ("lease", "why"),
    [
        ("abc", "expected whole seconds, got 'abc'"),
        ("9", "9s is not longer than SLACK_API_TIMEOUT (9s)"),
    ],
)
def test_serve_refuses_a_lease_that_a_send_could_outlast(
    sqlite_template: Path, tmp_path: Path, lease: str, why: str
) -> None:
    database = tmp_path / "ignorerate.db"
    shutil.copy(sqlite_template, database)
    env = serve_env(
        f"sqlite:///{database}",
        _config(tmp_path),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_TIMEOUT="9",
        IGNORERATE_OUTBOX_LEASE=lease,
    )
    with running_serve(env) as serve:
        assert serve.wait_exit() == 2
    assert f"IGNORERATE_OUTBOX_LEASE: {why}" in serve.log()

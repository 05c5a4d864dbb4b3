"""Delivering the outbox: messages written in the same transaction as the change that
caused them, sent after it commits, retried until Slack (or Teams) takes them, never lost.
Each platform has its own sender (`Deliverer` for Slack, `bot.teams.delivery` for Teams)
on the shared rules below, each with its own pace and its own 429 pause.

- A row is claimed with a lease before it is sent and marked sent with Slack's
  (channel, ts) after, so a card can be updated in place later. A sender killed between
  the two leaves the lease to expire: the row goes out again (at most one duplicate per
  crash) and is counted in `redeliveries` and in /metrics.
- 429: the row waits for Retry-After, and so does every other send of this process (the
  limit is the app's, per workspace). It is not counted as a failed try.
- 5xx, timeouts, refused connections: exponential backoff with jitter; after
  `max_attempts` tries the row is parked as dead with its last error, logged, counted,
  listed by `ignorerate outbox --dead` and retried by `ignorerate outbox retry ID`.
- Errors no retry can mend (channel_not_found, invalid_blocks, ...) park it at once.
- Pace: about one message a second a channel and a workspace-wide budget, kept by
  deferring rows rather than sleeping, so a fixed clock in tests never waits.

The outbox's Web API client has no retry handlers of its own (bootstrap builds it so):
slack_sdk's 429 handler sleeps in the sending thread for Retry-After, and its 5xx handler
retries at once, both of which the outbox does better with its own clock and backoff.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from bot.clock import Clock
from bot.config import Delivery, Settings
from bot.leads import platforms_of
from bot.slack import blocks
from bot.slack.messenger import SlackMessenger
from bot.slack.people import Directory
from metrics.routing import MessageKind, Platform
from storage import leads as store
from storage import nudges as nudge_store
from storage import outbox as rows
from storage.engine import writing

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
BACKOFF_BASE = 5.0  # seconds before the second try
BACKOFF_CAP = 600.0
# Slack errors that the same request will meet again however often it is sent
PERMANENT = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_not_found",
        "users_not_found",
        "cannot_dm_bot",
        "user_disabled",
        "account_inactive",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
    }
)


class Undeliverable(Exception):  # noqa: N818 (a state, not a failure of ours)
    """Retrying will not help (no one to send it to)."""


class Deferred(Exception):  # noqa: N818 (a state, not a failure)
    """Not now: the pace allows this channel, or the workspace, nothing more yet.
    `written`: the wait is on the bot's clock and goes on the row (a 429's Retry-After);
    otherwise it is a fraction of a second of spacing, and the row is only let go."""

    def __init__(self, wait: timedelta, *, written: bool = False) -> None:
        super().__init__(f"paced for {wait.total_seconds():.1f}s")
        self.wait = wait
        self.written = written


class Pacer:
    """About one message a second a channel within a workspace-wide token bucket, on the
    real (monotonic) clock: this is request spacing towards Slack, not business time.
    And nothing at all while Slack's last 429 lasts, on the bot's clock like every other
    wait that is written down. Per process: Slack's limits are per app and workspace, so
    replicas share them; keep `per_second` at the workspace budget over the replicas."""

    def __init__(
        self,
        delivery: Delivery,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gap = 1 / delivery.per_channel_per_second
        self.rate = delivery.per_second
        self.clock = clock
        self.monotonic = monotonic
        self.tokens = delivery.per_second
        self.refilled: float | None = None
        self.next_free: dict[str, float] = {}
        self.blocked_until: datetime | None = None
        self._lock = threading.Lock()

    def take(self, channel: str) -> None:
        """Returns when `channel` may have a message now; raises Deferred otherwise."""
        with self._lock:
            now = self.clock.now()
            if self.blocked_until is not None and now < self.blocked_until:
                raise Deferred(self.blocked_until - now, written=True)
            tick = self.monotonic()
            if self.refilled is not None:
                self.tokens = min(self.rate, self.tokens + (tick - self.refilled) * self.rate)
            self.refilled = tick
            free = self.next_free.get(channel)
            if free is not None and tick < free:
                raise Deferred(timedelta(seconds=free - tick))
            if self.tokens < 1:
                raise Deferred(timedelta(seconds=(1 - self.tokens) / self.rate))
            self.tokens -= 1
            self.next_free[channel] = tick + self.gap
            if len(self.next_free) > 10_000:  # forget channels whose gap is long past
                self.next_free = {c: t for c, t in self.next_free.items() if t > tick}

    def block(self, wait: timedelta) -> None:
        with self._lock:
            until = self.clock.now() + wait
            if self.blocked_until is None or until > self.blocked_until:
                self.blocked_until = until

    def soonest(self) -> float | None:
        """Seconds until some paced channel is free again (None: none is waiting)."""
        with self._lock:
            tick = self.monotonic()
            waits = [t - tick for t in self.next_free.values() if t > tick]
            return min(waits) if waits else None


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential, capped, with "equal jitter": half fixed, half random, so that senders
    that failed together do not all come back in the same second."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempts - 1))
    return timedelta(seconds=ceiling / 2 + rng.uniform(0, ceiling / 2))


def _status(err: SlackApiError) -> int | None:
    code = getattr(err.response, "status_code", None)
    return code if isinstance(code, int) else None


def _retry_after(err: SlackApiError) -> timedelta:
    headers = getattr(err.response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after") or "1"
    if isinstance(value, list):
        value = value[0]
    try:
        seconds = max(1, int(value))
    except ValueError:
        seconds = 1
    return timedelta(seconds=seconds)


def _at_whole_second(moment: datetime) -> datetime:
    """The stored times are whole seconds: round a wait up, never down to `now`."""
    return moment.replace(microsecond=0) + timedelta(seconds=1 if moment.microsecond else 0)


@dataclass(frozen=True)
class Refusal:
    """A platform's "no", in the outbox's terms. `wait`: a 429's Retry-After (the row and
    every send of this sender wait, and it is no failed try); `permanent`: no retry mends
    it; otherwise it is retried with backoff."""

    error: str
    wait: timedelta | None = None
    permanent: bool = False


class OutboxSender:
    """Claims the due rows of one platform and sends them one at a time: the retry,
    backoff, dead-letter and pacing rules every platform shares. A platform says how to
    send a row (`_send`) and what its errors mean (`refusal`)."""

    platform = ""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        clock: Clock,
        rng: random.Random | None = None,
        on_result: Callable[[str], None] | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.max_attempts = settings.delivery.max_attempts
        # longer than any one send takes; replicas' clocks must agree far better than this
        self.lease = lease
        self.pacer = Pacer(settings.delivery, clock)
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self.on_result = on_result or (lambda _status: None)
        self._key: str | None = None  # the outbox key of the message being sent

    def run_once(self, limit: int = 50) -> int:
        """Sends up to `limit` messages that are due; returns how many were sent. Each is
        claimed just before it is sent, so a lease only ever covers one send."""
        sent = 0
        passed: list[int] = []  # paced this round: left for the next
        for _ in range(limit):
            with writing(self.engine) as conn:
                claimed = rows.claim(
                    conn, self.platform, self.clock.now(), self.lease, 1, skip=passed
                )
            if not claimed:
                break
            row = claimed[0]
            if row.redelivered:
                log.warning("outbox %s: its last claim expired unfinished; sending again", row.key)
                self.on_result("redelivered")
            result = self._deliver(row)
            if result == "sent":
                sent += 1
            elif result == "deferred":
                passed.append(row.id)
        return sent

    def _deliver(self, row: rows.Claimed) -> str:
        now = self.clock.now()
        try:
            self._key = row.key
            ref = self._send(json.loads(row.payload))
        except Deferred as paced:
            if paced.written:
                self._later(row, now + paced.wait, row.attempts)
            else:
                with writing(self.engine) as conn:
                    rows.release(conn, row.id)
            self.on_result("deferred")
            return "deferred"
        except Undeliverable as err:
            self._dead(row, row.attempts + 1, str(err))
        except Exception as err:
            refusal = self.refusal(err)
            if refusal is None:
                self._retry(row, f"{type(err).__name__}: {err}"[:1000])
            elif refusal.wait is not None:
                wait = refusal.wait
                self.pacer.block(wait)
                self._later(row, now + wait, row.attempts, f"rate limited for {wait}")
                log.warning("outbox %s: %s said 429, waiting %s", row.key, self.platform, wait)
                self.on_result("rate_limited")
            elif refusal.permanent:
                self._dead(row, row.attempts + 1, refusal.error)
            else:
                self._retry(row, refusal.error)
        else:
            with writing(self.engine) as conn:
                rows.finish(conn, row.id, "sent", row.attempts + 1, self.clock.now(), ref=ref)
            self.on_result("sent")
            return "sent"
        return "failed"

    def _later(
        self, row: rows.Claimed, at: datetime, attempts: int, error: str | None = None
    ) -> None:
        with writing(self.engine) as conn:
            rows.later(conn, row.id, _at_whole_second(at), attempts=attempts, error=error)

    def _dead(self, row: rows.Claimed, attempts: int, error: str) -> None:
        with writing(self.engine) as conn:
            rows.finish(conn, row.id, "dead", attempts, self.clock.now(), error=error)
        log.error("outbox %s parked as dead after %d tries: %s", row.key, attempts, error)
        self.on_result("dead")

    def _retry(self, row: rows.Claimed, error: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            self._dead(row, attempts, error)
            return
        delay = backoff(attempts, self.rng)
        self._later(row, self.clock.now() + delay, attempts, error)
        log.warning("outbox %s failed (try %d), next in %s: %s", row.key, attempts, delay, error)
        self.on_result("retry")

    def next_due(self) -> datetime | None:
        with self.engine.connect() as conn:
            return rows.next_due(conn, self.platform)

    def _send(self, payload: dict[str, Any]) -> str:
        """Sends one row's payload; returns the reference stored with it."""
        raise NotImplementedError

    def refusal(self, err: Exception) -> Refusal | None:  # noqa: ARG002 (a platform's hook)
        """What `err` from `_send` means; None: an unexpected error, retried."""
        return None


class Deliverer(OutboxSender):
    """The Slack sender."""

    platform = "slack"

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        messenger: SlackMessenger,
        directory: Directory,
        *,
        clock: Clock,
        rng: random.Random | None = None,
        on_result: Callable[[str], None] | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        super().__init__(engine, settings, clock=clock, rng=rng, on_result=on_result, lease=lease)
        self.messenger = messenger
        self.directory = directory

    def refusal(self, err: Exception) -> Refusal | None:
        if not isinstance(err, SlackApiError):
            return None
        error = f"{_status(err) or ''} {err.response.get('error', '')}".strip()
        if _status(err) == 429:
            return Refusal(f"SlackApiError: {error}", wait=_retry_after(err))
        permanent = err.response.get("error") in PERMANENT
        return Refusal(f"SlackApiError: {error}", permanent=permanent)

    # ------------------------------------------------------------ what each kind does

    def _send(self, payload: dict[str, Any]) -> str:
        kind = payload.get("kind")
        if kind == "lead_card":
            return self._lead_card(int(payload["lead_id"]), str(payload["to"]))
        if kind == "digest":
            return self._digest(payload)
        if kind == "chart":
            return self._chart(payload)
        if kind == "post":
            return self._post(
                str(payload["channel"]),
                str(payload["text"]),
                payload.get("blocks"),
                payload.get("thread_ts"),
            )
        raise Undeliverable(f"unknown message kind {kind!r}")

    def _post(
        self,
        target: str,
        text: str,
        card: list[dict[str, Any]] | None,
        thread_ts: str | None = None,
    ) -> str:
        self.pacer.take(target)
        channel, ts = self.messenger.post(target, text, card, thread_ts, key=self._key)
        return f"{channel}/{ts}"

    def _chart(self, payload: dict[str, Any]) -> str:
        # drawn here, not when queued: the outbox keeps the series, never an image
        from bot.chart import trend_png
        from metrics.summary import TrendPoint

        channel = str(payload["channel"])
        png = trend_png([TrendPoint.from_dict(p) for p in payload["trend"]])
        self.pacer.take(channel)
        file_id = self.messenger.upload_png(
            channel,
            str(payload["filename"]),
            png,
            str(payload["title"]),
            payload.get("initial_comment"),
        )
        return f"{channel}/{file_id}"

    def _lead_card(self, lead_id: int, to: str) -> str:
        with self.engine.connect() as conn:
            lead = store.lead_view(conn, lead_id)
        if lead is None:
            raise Undeliverable(f"lead {lead_id} does not exist")
        team = self.settings.team(lead.team)
        if team is None:
            raise Undeliverable(f'team "{lead.team}" is not configured any more')
        if Platform.SLACK not in platforms_of(team, MessageKind.LEAD_CARD):
            raise Undeliverable(f"team {team.name} is not on Slack (only on Microsoft Teams)")
        target: str | None = None
        tz = team.timezone
        if to == "owner" and lead.owner is not None:
            person = self.directory.by_email(lead.owner.email)
            if person is not None and person.slack_user_id:
                target = person.slack_user_id
                tz = _zone(person.timezone) or tz
                with self.engine.connect() as conn:
                    refreshed = store.lead_view(conn, lead_id)
                lead = refreshed or lead
        if target is None:
            if not team.slack_channel:
                raise Undeliverable(
                    f"lead {lead_id}: its owner is not in Slack and team {team.name} has no "
                    "slack_channel to post it in"
                )
            target = team.slack_channel
        text, card = blocks.lead_card(lead, tz, self.settings.locale)
        ref = self._post(target, text, card)
        if target.startswith(("U", "W")) and lead.owner is not None:
            with writing(self.engine) as conn:
                store.remember_dm_channel(conn, lead.owner.id, ref.partition("/")[0])
        return ref

    def _digest(self, payload: dict[str, Any]) -> str:
        """Renders what is overdue now (a lead acted on since the sweep is left out);
        posts nothing when nothing is left."""
        audience, to = str(payload["audience"]), str(payload["to"])
        team_names = [str(n) for n in payload["teams"]]
        teams = [t for t in (self.settings.team(n) for n in team_names) if t is not None]
        if not teams:
            raise Undeliverable(f"teams {team_names} are not configured any more")
        teams = [t for t in teams if Platform.SLACK in platforms_of(t, MessageKind.DIGEST)]
        if not teams:
            raise Undeliverable(f"teams {team_names} are not on Slack (only on Microsoft Teams)")
        now = self.clock.now()
        since = now - timedelta(days=max(t.nudges.lookback_days for t in teams))
        include = [int(i) for i in payload["lead_ids"]]
        tz = teams[0].timezone
        owner_id: int | None = None
        target = to
        if audience in ("rep", "manager"):
            person = self.directory.by_email(to)
            if person is None or not person.slack_user_id:
                raise Undeliverable(f"{to} is not in this Slack workspace")
            target = person.slack_user_id
            tz = _zone(person.timezone) or tz
            if audience == "rep":
                owner_id = person.id
            with self.engine.connect() as conn:
                target = store.dm_channel(conn, person.id) or target
        with self.engine.connect() as conn:
            ids, total = nudge_store.overdue_leads(
                conn,
                now,
                owner_id=owner_id,
                team_names=() if audience == "rep" else team_names,
                include=include,
                since=since,
            )
            views = store.lead_views(conn, ids)
        if total == 0:
            return "nothing-left"
        text, card = blocks.digest(
            audience,
            [views[i] for i in ids if i in views],
            total,
            teams=team_names,
            tz=tz,
            locale=self.settings.locale,
            now=now,
        )
        ref = self._post(target, text, card)
        if audience != "channel" and target.startswith(("U", "W")):
            with writing(self.engine) as conn:
                person = store.person_by_email(conn, to)
                if person is not None:
                    store.remember_dm_channel(conn, person.id, ref.partition("/")[0])
        return ref


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return None


class OutboxWorker:
    """Runs a Deliverer in a thread: woken when something is queued, else when the next
    row is due (at the latest every `interval` seconds)."""

    def __init__(
        self,
        deliverer: OutboxSender,
        interval: float = 5.0,
        name: str = "outbox",
        yield_to: Callable[[], object] | None = None,
    ) -> None:
        self.deliverer = deliverer
        self.interval = interval
        # called before each message: `serve` passes Lull.wait (bot/http/lull.py), so a
        # burst of requests is answered before the queue goes on
        self.yield_to = yield_to
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _pause(self) -> float:
        try:
            due = self.deliverer.next_due()
        except Exception:
            log.exception("could not read the outbox")
            return self.interval
        if due is None:
            return self.interval
        wait = (due - self.deliverer.clock.now()).total_seconds()
        paced = self.deliverer.pacer.soonest()
        if paced is not None and wait <= 0:
            wait = paced  # due, but waiting for its channel's turn
        return min(self.interval, max(0.05, math.ceil(wait * 10) / 10))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._pause())
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                while not self._stop.is_set():
                    if self.yield_to is not None:
                        self.yield_to()
                    if not self.deliverer.run_once():
                        break
            except Exception:
                log.exception("outbox delivery failed")

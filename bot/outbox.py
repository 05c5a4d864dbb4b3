"""Delivering the outbox: messages written in the same transaction as the change that
caused them, sent after it commits, retried until Slack takes them.

A row is claimed (with a lease) before it is sent and marked sent with Slack's
(channel, ts) after, so a card can be updated in place later. Failed sends wait with
exponential backoff; after `max_attempts` the row is parked as dead with its last error.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, and_, or_, select, update

from bot.clock import Clock
from bot.config import Settings
from bot.slack import blocks
from bot.slack.messenger import SlackMessenger
from bot.slack.people import Directory
from storage import leads as store
from storage.tables import OutboxMessage

log = logging.getLogger(__name__)
OUTBOX = cast(Table, OutboxMessage.__table__)
LEASE = timedelta(minutes=2)


class Undeliverable(Exception):  # noqa: N818 (a state, not a failure of ours)
    """Retrying will not help (no one to send it to)."""


class Deliverer:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        messenger: SlackMessenger,
        directory: Directory,
        *,
        clock: Clock,
        max_attempts: int = 8,
        on_result: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.messenger = messenger
        self.directory = directory
        self.clock = clock
        self.max_attempts = max_attempts
        self.on_result = on_result or (lambda _status: None)

    def _claim(self, limit: int) -> list[tuple[int, str, str, int]]:
        now = self.clock.now()
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(OUTBOX.c.id, OUTBOX.c.key, OUTBOX.c.payload, OUTBOX.c.attempts)
                .where(
                    OUTBOX.c.status == "pending",
                    OUTBOX.c.platform == "slack",
                    OUTBOX.c.next_attempt_at <= now,
                    or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now),
                )
                .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
                .limit(limit)
            ).all()
            claimed = []
            for id_, key, payload, attempts in rows:
                # the lease is taken by a conditional UPDATE: a row two workers both saw
                # goes to the one whose UPDATE matched
                taken = conn.execute(
                    update(OUTBOX)
                    .where(
                        and_(
                            OUTBOX.c.id == id_,
                            OUTBOX.c.status == "pending",
                            or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now),
                        )
                    )
                    .values(claimed_until=now + LEASE)
                ).rowcount
                if taken:
                    claimed.append((id_, key, payload, attempts))
            return claimed

    def run_once(self, limit: int = 50) -> int:
        """Sends what is due; returns how many were sent."""
        sent = 0
        for id_, key, payload, attempts in self._claim(limit):
            try:
                ref = self._send(json.loads(payload))
            except Undeliverable as err:
                self._finish(id_, "dead", attempts + 1, error=str(err))
                log.error("outbox %s is undeliverable: %s", key, err)
                self.on_result("dead")
            except Exception as err:
                self._retry(id_, key, attempts + 1, err)
            else:
                self._finish(id_, "sent", attempts + 1, ref=ref)
                self.on_result("sent")
                sent += 1
        return sent

    def _finish(
        self, id_: int, status: str, attempts: int, ref: str | None = None, error: str | None = None
    ) -> None:
        now = self.clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == id_)
                .values(
                    status=status,
                    attempts=attempts,
                    external_ref=ref,
                    last_error=error,
                    claimed_until=None,
                    sent_at=now if status == "sent" else None,
                )
            )

    def _retry(self, id_: int, key: str, attempts: int, err: Exception) -> None:
        error = f"{type(err).__name__}: {err}"[:1000]
        if attempts >= self.max_attempts:
            self._finish(id_, "dead", attempts, error=error)
            log.error("outbox %s parked as dead after %d attempts: %s", key, attempts, error)
            self.on_result("dead")
            return
        delay = timedelta(seconds=min(600, 5 * 2 ** (attempts - 1)))
        with self.engine.begin() as conn:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == id_)
                .values(
                    attempts=attempts,
                    last_error=error,
                    claimed_until=None,
                    next_attempt_at=self.clock.now() + delay,
                )
            )
        log.warning("outbox %s failed (attempt %d), next in %s: %s", key, attempts, delay, error)
        self.on_result("retry")

    def _send(self, payload: dict[str, Any]) -> str:
        kind = payload.get("kind")
        if kind == "lead_card":
            return self._lead_card(int(payload["lead_id"]), str(payload["to"]))
        if kind == "post":
            channel, ts = self.messenger.post(
                str(payload["channel"]),
                str(payload["text"]),
                payload.get("blocks"),
                payload.get("thread_ts"),
            )
            return f"{channel}/{ts}"
        if kind == "chart":
            # drawn here, not when queued: the outbox keeps the series, never an image
            from bot.chart import trend_png
            from metrics.summary import TrendPoint

            channel = str(payload["channel"])
            png = trend_png([TrendPoint.from_dict(p) for p in payload["trend"]])
            file_id = self.messenger.upload_png(
                channel,
                str(payload["filename"]),
                png,
                str(payload["title"]),
                payload.get("initial_comment"),
            )
            return f"{channel}/{file_id}"
        raise Undeliverable(f"unknown message kind {kind!r}")

    def _lead_card(self, lead_id: int, to: str) -> str:
        with self.engine.connect() as conn:
            lead = store.lead_view(conn, lead_id)
        if lead is None:
            raise Undeliverable(f"lead {lead_id} does not exist")
        team = self.settings.team(lead.team)
        if team is None:
            raise Undeliverable(f'team "{lead.team}" is not configured any more')
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
        channel, ts = self.messenger.post(target, text, card)
        if target.startswith(("U", "W")) and lead.owner is not None:
            with self.engine.begin() as conn:
                store.remember_dm_channel(conn, lead.owner.id, channel)
        return f"{channel}/{ts}"


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return None


class OutboxWorker:
    """Runs a Deliverer in a thread: woken when something is queued, and every
    `interval` seconds for retries."""

    def __init__(self, deliverer: Deliverer, interval: float = 5.0) -> None:
        self.deliverer = deliverer
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                while self.deliverer.run_once() and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("outbox delivery failed")

"""The outbox's delivery engine: messages written in the same transaction as the change
that caused them, sent after it commits, retried until the platform takes them, never
lost. It knows no platform: each platform plugged in hands it a `Sender`, and gets an
`Outbox` of its own, with its own pace and its own 429 pause.

- A row is claimed with a lease before it is sent and marked sent with the platform's
  reference (Slack's channel/ts) after, so a card can be updated in place later. A sender
  killed between the two leaves the lease to expire: the row goes out again (at most one
  duplicate per crash) and is counted in `redeliveries` and in /metrics.
- 429: the row waits for Retry-After, and so does every other send of this outbox (the
  limit is the app's, per workspace). It is not counted as a failed try.
- 5xx, timeouts, refused connections: exponential backoff with jitter; after
  `max_attempts` tries the row is parked as dead with its last error, logged, counted,
  listed by `ignorerate outbox --dead` and retried by `ignorerate outbox retry ID`.
- Errors no retry can mend (the sender's `refusal` says which), a message the platform
  cannot send and a row this version cannot read park it at once.
- Pace: about one message a second a channel and a budget for all (bot.outbox.pacing),
  kept by deferring rows rather than sleeping, so a fixed clock in tests never waits.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.app.messages import Message, UnreadableMessageError, decode
from bot.clock import Clock
from bot.config import Settings
from bot.outbox.pacing import Deferred, Pacer, backoff
from metrics.routing import Platform
from storage import outbox as rows
from storage.engine import Engine, writing

log = logging.getLogger(__name__)


LEASE = timedelta(minutes=2)


class Undeliverable(Exception):  # noqa: N818 (a state, not a failure of ours)
    """Retrying will not help (no one to send it to)."""


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


class Result(StrEnum):
    """What became of one try, as /metrics counts it (`ignorerate_outbox_total`)."""

    SENT = "sent"
    DEFERRED = "deferred"  # paced: left for a moment, no try spent
    RATE_LIMITED = "rate_limited"
    RETRY = "retry"
    DEAD = "dead"
    REDELIVERED = "redelivered"  # a claim expired unfinished: sent again


@dataclass(frozen=True)
class Sending:
    """What a platform's sender is told of the row it sends: its key (an idempotency key
    the platform may be given), its target as queued, and `pace`, which returns when a
    message may go to a channel now and raises Deferred otherwise."""

    key: str
    target: str
    pace: Callable[[str], None]


class Sender(Protocol):
    """A platform's half of delivery, handed to the outbox when the platform is plugged
    in: `send` words a message and sends it, matching on its type (a message the platform
    cannot send raises Undeliverable), and returns the reference stored with the row;
    `refusal` says what an error it raised means."""

    platform: Platform

    def send(self, message: Message, sending: Sending) -> str: ...

    def refusal(self, err: Exception) -> Refusal | None: ...


class Outbox:
    """Claims the due rows of one platform and hands each, decoded into its typed message,
    to that platform's sender: the retry, backoff, dead-letter and pacing rules every
    platform shares. It knows no platform."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        sender: Sender,
        *,
        clock: Clock,
        rng: random.Random | None = None,
        on_result: Callable[[str], None] | None = None,
        lease: timedelta = LEASE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.sender = sender
        self.platform = sender.platform
        self.clock = clock
        self.max_attempts = settings.delivery.max_attempts
        # longer than any one send takes; replicas' clocks must agree far better than this
        self.lease = lease
        self.pacer = Pacer(settings.delivery, clock, monotonic)  # spacing in real seconds
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self.on_result = on_result or (lambda _status: None)

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
                self.on_result(Result.REDELIVERED)
            result = self._deliver(row)
            if result is Result.SENT:
                sent += 1
            elif result is Result.DEFERRED:
                passed.append(row.id)
        return sent

    def _deliver(self, row: rows.Claimed) -> Result:
        now = self.clock.now()
        try:
            message = decode(row.payload)
            ref = self.sender.send(message, Sending(row.key, row.target, self.pacer.take))
        except Deferred as paced:
            if paced.written:
                self._later(row, now + paced.wait, row.attempts)
            else:
                with writing(self.engine) as conn:
                    rows.release(conn, row.id)
            self.on_result(Result.DEFERRED)
            return Result.DEFERRED
        except (Undeliverable, UnreadableMessageError) as err:
            self._dead(row, row.attempts + 1, str(err))
        except Exception as err:
            refusal = self.sender.refusal(err)
            if refusal is None:
                self._retry(row, f"{type(err).__name__}: {err}"[:1000])
            elif refusal.wait is not None:
                wait = refusal.wait
                self.pacer.block(wait)
                self._later(row, now + wait, row.attempts, f"rate limited for {wait}")
                log.warning("outbox %s: %s said 429, waiting %s", row.key, self.platform, wait)
                self.on_result(Result.RATE_LIMITED)
            elif refusal.permanent:
                self._dead(row, row.attempts + 1, refusal.error)
            else:
                self._retry(row, refusal.error)
        else:
            with writing(self.engine) as conn:
                rows.finish(
                    conn, row.id, rows.Status.SENT, row.attempts + 1, self.clock.now(), ref=ref
                )
            self.on_result(Result.SENT)
            return Result.SENT
        return Result.RETRY

    def _later(
        self, row: rows.Claimed, at: datetime, attempts: int, error: str | None = None
    ) -> None:
        with writing(self.engine) as conn:
            rows.later(conn, row.id, _at_whole_second(at), attempts=attempts, error=error)

    def _dead(self, row: rows.Claimed, attempts: int, error: str) -> None:
        with writing(self.engine) as conn:
            rows.finish(conn, row.id, rows.Status.DEAD, attempts, self.clock.now(), error=error)
        log.error("outbox %s parked as dead after %d tries: %s", row.key, attempts, error)
        self.on_result(Result.DEAD)

    def _retry(self, row: rows.Claimed, error: str) -> None:
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            self._dead(row, attempts, error)
            return
        delay = backoff(attempts, self.rng)
        self._later(row, self.clock.now() + delay, attempts, error)
        log.warning("outbox %s failed (try %d), next in %s: %s", row.key, attempts, delay, error)
        self.on_result(Result.RETRY)

    def next_due(self) -> datetime | None:
        with self.engine.connect() as conn:
            return rows.next_due(conn, self.platform)

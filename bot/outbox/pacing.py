"""How fast the outbox sends: a pace per channel within a budget per workspace, a 429's
pause, and the backoff between failed tries. Platform-blind: a sender names its channels."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import Delivery

BACKOFF_BASE = 5.0  # seconds before the second try


BACKOFF_CAP = 600.0


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

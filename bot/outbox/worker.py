"""Runs an outbox sender in a thread: woken when something is queued, else when the next
row is due."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable

from bot.outbox.engine import Outbox

log = logging.getLogger(__name__)


class OutboxWorker:
    """Runs an Outbox in a thread: woken when something is queued, else when the next
    row is due (at the latest every `interval` seconds)."""

    def __init__(
        self,
        deliverer: Outbox,
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

"""Work after an answer waits for a lull in the requests being answered.

One process answers Slack's requests and does the work they start (a click's transaction
and the card's `chat.update`). Both need the GIL, and CPython hands it out without
priorities: under a burst of clicks the work of earlier clicks slows the answers to later
ones (docs/benchmarks.md: with it waiting here, p99 24 ms at 50 concurrent clicks; with it
on Bolt's pool at once, 100-330 ms). What a person waits for is the answer (the button stops
spinning; Slack gives up after 3 s); the card's update can come a moment later. So work
submitted here starts only once no request has arrived for `quiet` seconds, or after
`cap` seconds whatever happens, so that a steady stream of requests delays it but never
starves it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Lull:
    def __init__(
        self,
        quiet: float = 0.02,
        cap: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet, self.cap, self._now = quiet, cap, monotonic
        self._lock = threading.Lock()
        self._gate = threading.Lock()  # one waiter polls at a time; the rest queue behind it
        self._inflight = 0
        self._last = float("-inf")

    def enter(self) -> None:
        with self._lock:
            self._inflight += 1
            self._last = self._now()

    def leave(self) -> None:
        with self._lock:
            self._inflight -= 1
            self._last = self._now()

    def remaining(self) -> float:
        """Seconds until the lull (0: it is quiet now)."""
        with self._lock:
            if self._inflight:
                return self.quiet
            return max(0.0, self._last + self.quiet - self._now())

    def wait(self) -> float:
        """Blocks until it is quiet or `cap` has passed; returns the seconds waited."""
        start = self._now()
        if not self._gate.acquire(timeout=self.cap):
            return self._now() - start
        try:
            while (left := self.remaining()) > 0:
                waited = self._now() - start
                if waited >= self.cap:
                    return waited
                time.sleep(min(left, self.cap - waited))
            return self._now() - start
        finally:
            self._gate.release()


class BackgroundExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks first wait for a lull (Bolt's lazy listeners run here)."""

    def __init__(self, lull: Lull, max_workers: int, thread_name_prefix: str = "") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self.lull = lull

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        def after_lull() -> T:
            self.lull.wait()
            return fn(*args, **kwargs)

        return super().submit(after_lull)

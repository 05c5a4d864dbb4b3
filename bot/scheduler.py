"""The minute tick inside `serve`: the SLA sweep and the weekly summaries, run by one
process at a time however many replicas there are.

APScheduler 3 only keeps time here: an interval job in memory, coalesced, never run twice
at once. Its persistent job stores are not used: its FAQ warns that sharing one between
processes "will lead to incorrect scheduler behavior like duplicate execution or the
scheduler missing jobs". What must happen once is decided by the database instead:
- PostgreSQL: each tick takes `pg_try_advisory_xact_lock` in the transaction that writes
  its nudges and outbox rows; a replica that does not get it skips the tick. The lock ends
  with the transaction, so a replica that dies mid-tick leaves nothing held.
- SQLite: one scheduler per database file, enforced by an exclusive `flock` on a file
  beside it; a second `serve` on the same file refuses to start and says why.
- Either way, unique keys (nudge per lead, kind and cycle; summary per team and week;
  outbox keys) make a duplicate impossible even if two ticks got through.
Because each tick asks "what is due by now?" rather than "is it 09:00?", a tick missed
while the bot was down is caught up by the next one, and DST cannot skip or double it.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.app.sweep import SweepResult, sweep
from bot.clock import Clock
from bot.config import Settings
from storage.engine import Connection, Engine, begin_writing, sqlite_file
from storage.locks import try_transaction_lock

log = logging.getLogger(__name__)
# the advisory lock's key: any constant bigint the deployment does not use for another lock
TICK_LOCK = 0x1607E_2A7E


class SchedulerLockedError(RuntimeError):
    pass


@dataclass
class TickResult:
    sweep: SweepResult
    summaries: list[str] = field(default_factory=list)

    @property
    def queued(self) -> int:
        return len(self.sweep.messages) + len(self.sweep.teams_messages) + len(self.summaries)


Job = Callable[[Connection, Settings, datetime], list[str]]


class Ticker:
    """One tick of work, under the lock; `dry_run` decides and rolls back."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        *,
        jobs: Sequence[Job] = (),
        on_queued: Callable[[], None] = lambda: None,
        on_tick: Callable[[str], None] = lambda _result: None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.jobs = jobs
        self.on_queued = on_queued
        self.on_tick = on_tick

    def tick(self, *, dry_run: bool = False) -> TickResult | None:
        """None when another process holds the tick."""
        now = self.clock.now()
        with self.engine.connect() as conn:
            tx = begin_writing(conn)
            try:
                # SQLite: always taken (one writer at a time, one scheduler per file)
                if not try_transaction_lock(conn, TICK_LOCK):
                    tx.rollback()
                    self.on_tick("skipped")
                    return None
                result = TickResult(sweep(conn, self.settings, now))
                for job in self.jobs:
                    result.summaries += job(conn, self.settings, now)
            except BaseException:
                tx.rollback()
                self.on_tick("failed")
                raise
            if dry_run:
                tx.rollback()
                return result
            tx.commit()
        self.on_tick("done")
        if result.queued:
            self.on_queued()
        return result


class FileLock:
    """An exclusive lock on a file beside the SQLite database, held while the process
    lives; the kernel lets go of it when the process dies, however it dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise SchedulerLockedError(
                f"another `ignorerate serve` ({holder}) already runs the scheduler on this "
                f"SQLite database ({self.path}). SQLite takes one; run several replicas on "
                "PostgreSQL (DATABASE_URL=postgresql+psycopg://...)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def sqlite_lock_path(engine: Engine) -> Path | None:
    database = sqlite_file(engine)
    return None if database is None else Path(f"{database}.scheduler.lock")


@dataclass(frozen=True)
class Periodic:
    """Other work on the scheduler's thread pool, every `interval` seconds from the start
    (the CRM sync); `run` takes its own lock and must not raise."""

    name: str
    interval: float
    run: Callable[[], None]


class Scheduler:
    """The tick every `interval` seconds on a background thread, starting at once, and
    each `Periodic` job on its own interval."""

    def __init__(
        self, ticker: Ticker, interval: float = 60.0, periodic: Sequence[Periodic] = ()
    ) -> None:
        self.ticker = ticker
        self.interval = interval
        self.periodic = periodic
        path = sqlite_lock_path(ticker.engine)
        self.lock = FileLock(path) if path is not None else None
        self.aps: BackgroundScheduler | None = None

    def start(self) -> None:
        if self.lock is not None:
            self.lock.acquire()
        aps = BackgroundScheduler(timezone="UTC")
        aps.add_job(
            self._tick,
            IntervalTrigger(seconds=self.interval),
            id="tick",
            coalesce=True,  # after a stall, one catch-up tick, not a burst
            max_instances=1,
            misfire_grace_time=None,  # the default (1 s) would drop a late tick
            next_run_time=self.ticker.clock.now(),
        )
        for job in self.periodic:
            aps.add_job(
                job.run,
                IntervalTrigger(seconds=job.interval),
                id=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
                next_run_time=self.ticker.clock.now(),
            )
        aps.start()
        self.aps = aps
        log.info("scheduler on: SLA sweep and weekly summaries every %ss", self.interval)
        for job in self.periodic:
            log.info("scheduler on: %s every %ss", job.name, job.interval)

    def wake(self, name: str) -> None:
        """Runs the periodic job `name` now rather than at its next time (a CRM's webhook
        says something changed); a run under way is not doubled (max_instances=1)."""
        aps = self.aps
        if aps is None:
            return
        job = aps.get_job(name)
        if job is not None:
            job.modify(next_run_time=self.ticker.clock.now())

    def _tick(self) -> None:
        try:
            result = self.ticker.tick()
        except Exception:
            log.exception("scheduler tick failed; the next tick tries again")
            return
        if result is not None and (result.sweep.decisions or result.summaries):
            log.info(
                "tick: %d nudges, %d messages queued, %d summaries",
                len(result.sweep.decisions),
                len(result.sweep.messages),
                len(result.summaries),
            )

    def stop(self) -> None:
        if self.aps is not None:
            self.aps.shutdown(wait=True)
            self.aps = None
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> Scheduler:
        self.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

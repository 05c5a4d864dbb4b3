"""A bot replica for the reliability tests, run as its own process so that it can be
killed with SIGKILL: the scheduler's tick and the outbox's sender, on a simulated clock.

    python -m tests.replica --config C --database URL --slack URL \
        --start 2026-11-30T00:00:00+00:00 --minutes 1440 --speed 2880 --epoch T

With --speed, time runs `speed` times faster than the wall clock from the wall-clock
moment --epoch, so that replicas started together share one simulated time, as real
replicas share a real one (give the same --epoch to all). Without it, the clock stands at
--start. It prints `at <instant>` after each tick (a test reads these to kill it
mid-way), then delivers what is left and prints `done`.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import Clock, FixedClock
from bot.config import load_settings
from bot.outbox.engine import LEASE, Outbox
from bot.scheduler import Ticker
from bot.serve import default_jobs
from bot.slack.messenger import SlackMessenger, make_client
from bot.slack.people import Directory
from bot.slack.sender import slack_outbox
from storage.engine import make_engine
from tests.fakes import BOT_TOKEN


class ScaledClock:
    def __init__(self, start: datetime, epoch: float, speed: float) -> None:
        self.start, self.epoch, self.speed = start, epoch, speed

    def now(self) -> datetime:
        elapsed = max(0.0, time.time() - self.epoch)  # before the epoch: the start
        return self.start + timedelta(seconds=elapsed * self.speed)


def drain(deliverer: Outbox, seconds: float) -> None:
    """Delivers until nothing is pending or `seconds` of real time have passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if deliverer.run_once():
            continue
        due = deliverer.next_due()
        if due is None or due > deliverer.clock.now():
            return
        time.sleep(min(1.0, deliverer.pacer.soonest() or 0.05))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--slack", required=True)
    parser.add_argument("--start", required=True)
    parser.add_argument("--minutes", type=float, default=0)
    parser.add_argument("--speed", type=float, default=0)
    parser.add_argument("--epoch", type=float, default=0)
    parser.add_argument("--lease-seconds", type=float, default=LEASE.total_seconds())
    args = parser.parse_args()
    settings = load_settings(args.config, env={"DATABASE_URL": args.database})
    engine = make_engine(args.database)
    start = datetime.fromisoformat(args.start)
    clock: Clock = ScaledClock(start, args.epoch, args.speed) if args.speed else FixedClock(start)
    messenger = SlackMessenger(
        make_client(BOT_TOKEN, f"{args.slack}/api/", timeout=5, interactive=False)
    )
    deliverer = slack_outbox(
        engine,
        settings,
        messenger,
        Directory(engine, messenger, clock),
        clock=clock,
        lease=timedelta(seconds=args.lease_seconds),
    )
    ticker = Ticker(engine, settings, clock, jobs=default_jobs())
    end = start + timedelta(minutes=args.minutes)
    while True:
        ticker.tick()
        drain(deliverer, 5)
        print(f"at {clock.now().isoformat()}", flush=True)
        if clock.now() >= end:
            break
        time.sleep(0.01)
    drain(deliverer, 60)
    print("done", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()

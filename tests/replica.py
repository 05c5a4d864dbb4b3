"""A bot replica for the reliability tests, run as its own process so that it can be
killed with SIGKILL: the scheduler's tick and the outbox's sender, stepping a fixed clock
through a stretch of simulated time as fast as the machine allows.

    python -m tests.replica --config C --database URL --slack URL \
        --start 2026-11-30T00:00:00+00:00 --minutes 1440 --step-seconds 120

It prints `at <instant>` after each step (a test reads these to kill it mid-way), then
delivers what is left and prints `done`.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta
from pathlib import Path

from bot.bootstrap import default_jobs
from bot.clock import FixedClock
from bot.config import load_settings
from bot.outbox import Deliverer
from bot.scheduler import Ticker
from bot.slack.messenger import SlackMessenger, make_client
from bot.slack.people import Directory
from storage.engine import make_engine
from tests.fakes import BOT_TOKEN


def drain(deliverer: Deliverer, seconds: float) -> None:
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
    parser.add_argument("--step-seconds", type=float, default=60)
    args = parser.parse_args()
    settings = load_settings(args.config, env={"DATABASE_URL": args.database})
    engine = make_engine(args.database)
    clock = FixedClock(datetime.fromisoformat(args.start))
    messenger = SlackMessenger(
        make_client(BOT_TOKEN, f"{args.slack}/api/", timeout=5, interactive=False)
    )
    deliverer = Deliverer(
        engine, settings, messenger, Directory(engine, messenger, clock), clock=clock
    )
    ticker = Ticker(engine, settings, clock, jobs=default_jobs())
    steps = int(args.minutes * 60 / args.step_seconds)
    for step in range(steps + 1):
        ticker.tick()
        drain(deliverer, 5)
        print(f"at {clock.now().isoformat()}", flush=True)
        if step < steps:
            clock.advance(timedelta(seconds=args.step_seconds))
    drain(deliverer, 60)
    print("done", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()

"""One SLA sweep over many open leads, beside the SELECT of the due leads alone.

    python -m bench.sweep --open 100000 --due 10000 --backends sqlite,postgresql

For each size the database holds `--open` open leads (no first action) of which `--due`
have a nudge due at the sweep's moment, spread over 500 reps of one team. A sweep reads
the due leads, records their nudges, moves each to its next stage and queues one digest
per rep, in one transaction; it is run and rolled back, so every run does the same work.
Floor: the SELECT of the due leads alone (`next_nudge_at <= now`), the part no sweep can
skip. Figures are medians of --repeat runs. Then the open leads double, due leads staying
the same, to show what the cost follows.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.run import fresh_database, median_seconds, pg_url_option
from bench.summary import Row, record
from bot.app.sweep import sweep
from bot.config import Settings, parse_settings
from storage import repository as repo
from storage.engine import make_engine
from storage.migrate import upgrade

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
REPS = 500
CONFIG: dict[str, Any] = {
    "timezone": "UTC",
    "teams": [
        {
            "name": "t",
            "sla": {"minutes": 60, "business_hours": False},
            "managers": ["boss@example.com"],
            "reps": [f"r{i}@example.com" for i in range(REPS)],
            "nudges": {"escalate_after_minutes": 60, "lookback_days": 30},
        }
    ],
}
FLOOR = (
    "SELECT id, team_id, due_at, next_nudge_at, nudge_stage, owner_id FROM leads "
    "WHERE next_nudge_at <= :now"
)


def _load(engine: Engine, open_leads: int, due: int) -> None:
    """Open leads handed off over the last ten days; `due` of them at their deadline now."""
    with engine.begin() as conn:
        team = repo.sync_teams(conn, {"t": "UTC"}, NOW)["t"]
    batch: list[repo.NewLead] = []
    for i in range(open_leads):
        is_due = i < due
        handed = (
            NOW - timedelta(minutes=60 + (i % 5))
            if is_due
            else NOW - timedelta(minutes=(i * 7) % (10 * 1440))
        )
        deadline = handed + timedelta(minutes=60)
        batch.append(
            repo.NewLead(
                source="bench",
                external_id=str(i),
                team_id=team,
                handed_off_at=handed,
                due_at=deadline,
                owner_email=f"r{i % REPS}@example.com",
                # not due: the next nudge is later (a deadline ahead, or an escalation
                # a day ahead for leads long overdue that have been reminded already)
                next_nudge_at=deadline if is_due else max(deadline, NOW) + timedelta(days=1),
                nudge_stage="reminder" if is_due else "escalation",
            )
        )
        if len(batch) == 5000:
            with engine.begin() as conn:
                repo.add_leads(conn, batch, NOW)
            batch = []
    if batch:
        with engine.begin() as conn:
            repo.add_leads(conn, batch, NOW)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _measure(engine: Engine, settings: Settings, repeat: int, due: int) -> dict[str, float]:
    def one_sweep() -> int:
        with engine.connect() as conn:
            tx = conn.begin()
            result = sweep(conn, settings, NOW)
            tx.rollback()
        return len(result.decisions)

    binds = {"now": int(NOW.timestamp())} if engine.dialect.name == "sqlite" else {"now": NOW}

    def floor() -> int:
        with engine.connect() as conn:
            return len(conn.execute(text(FLOOR), binds).all())

    t_sweep, decided = median_seconds(one_sweep, repeat)
    t_floor, selected = median_seconds(floor, repeat)
    if decided != due or selected != due:
        raise SystemExit(f"expected {due} due leads, the sweep decided {decided}, floor {selected}")
    # unrounded: a floor under half a millisecond (a small --open) rounds to zero
    return {"sweep_s": t_sweep, "floor_s": t_floor}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--summary", help="append the result to this file (bench.summary)")
    pg_url_option(parser)
    args = parser.parse_args()
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores; {args.due} due leads, median of {args.repeat}"
    )
    print("| backend | open leads | due | sweep s | floor s (SELECT due) | sweep / floor |")
    print("|---|---|---|---|---|---|")
    settings = parse_settings(CONFIG, "bench", env={})
    for backend in args.backends.split(","):
        seconds: list[float] = []
        floors: list[float] = []
        for open_leads in (args.open, args.open * 2):
            with tempfile.TemporaryDirectory() as tmp:
                url, drop = fresh_database(backend, Path(tmp), args.pg_url)
                engine = make_engine(url)
                try:
                    upgrade(engine)
                    _load(engine, open_leads, args.due)
                    r = _measure(engine, settings, args.repeat, args.due)
                finally:
                    engine.dispose()
                    drop()
            print(
                f"| {backend} | {open_leads} | {args.due} | {r['sweep_s']:.3f} | "
                f"{r['floor_s']:.3f} | {r['sweep_s'] / r['floor_s']:.1f}x |",
                flush=True,
            )
            seconds.append(r["sweep_s"])
            floors.append(r["floor_s"])
        # "grows with due leads, not open ones": twice the open leads, the same due, may
        # not cost more than a quarter more
        growth = seconds[1] / seconds[0]
        record(
            args.summary,
            Row(
                f"one SLA sweep, {args.open:,} open leads, {args.due:,} due",
                "SQLite" if backend == "sqlite" else "PostgreSQL",
                f"{seconds[0]:.2f} s ({growth:.2f}x at {2 * args.open:,} open)",
                f"{floors[0]:.3f} s (SELECT due)",
                seconds[0] / floors[0],
                "< 2 s; x2 open leads ≤ 1.25x time",
                seconds[0] < 2 and growth <= 1.25,
                args.repeat,
            ),
        )


if __name__ == "__main__":
    main()

"""The handoff webhook under batches of 500 leads, beside a floor of the same rows.

    python -m bench.webhook --batches 40 --clients 2 --database postgresql

`ignorerate serve`'s app (Slack off: nothing here waits on Slack) runs with uvicorn on a
loopback port; a child process sends signed batches of 500 new leads from `--clients`
connections at once, and the figure is leads stored per second, from the first request
to the last answer (202s only). Every answer is checked. Floor, in the same run on the
same database: the rows the webhook stores for those leads (a lead row with every column
the insert sets, its owner-history row, its card's outbox row), written by one
`executemany` of plain INSERTs a table into scratch tables of the same column types, with
no keys, indexes or checks; on PostgreSQL also by one `COPY` a table, and the faster of
the two is the floor (each the median of --floor-repeat runs). The old floor (three text
columns a lead, one table) is printed beside it, and so is a reference that is not a
floor: the same rows written the same way into the real tables of a fresh database, with
their indexes and keys (what the schema costs, before any of our code).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
import platform
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Column, Engine, MetaData, Table, text

from bench.run import fresh_database, insert_floor, pg_url_option
from bench.summary import Row, record
from bot.clock import SystemClock
from bot.config import parse_settings, read_environment
from bot.serve import build_service, process_tuning
from storage.engine import make_engine
from storage.leads import OUTBOX
from storage.migrate import upgrade
from storage.repository import LEADS, OWNERS, REPS, TEAMS
from tests.fakes import serve

SECRET = "bench-webhook-secret"  # noqa: S105 (a throwaway secret for a local run)
BATCH = 500
CONFIG: dict[str, Any] = {
    "timezone": "UTC",
    "teams": [
        {
            "name": "t",
            "sla": {"minutes": 240, "business_hours": True},
            "reps": [f"r{i}@example.com" for i in range(100)],
        }
    ],
}


def _batches(count: int, start: int = 0) -> list[bytes]:
    handed = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()  # noqa: TID251 (a benchmark of the wall clock)
    return [
        json.dumps(
            {
                "leads": [
                    {
                        "source": "bench",
                        "external_id": f"{start + b}-{i}",
                        "handed_off_at": handed,
                        "team": "t",
                        "owner_email": f"r{i % 100}@example.com",
                        "name": f"Lead {start + b}-{i}",
                        "company": "Example KK",
                        "email": f"lead{start + b}-{i}@example.com",
                        "campaign": "webinar-2026-11",
                    }
                    for i in range(BATCH)
                ]
            }
        ).encode()
        for b in range(count)
    ]


def post_handoff(client: httpx.Client, url: str, secret: str, body: bytes) -> None:
    """One signed handoff webhook request; anything but a 202 stops the benchmark."""
    ts = str(int(time.time()))
    mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    answer = client.post(
        url,
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Ignorerate-Timestamp": ts,
            "X-Ignorerate-Signature": f"v0={mac.hexdigest()}",
        },
    )
    if answer.status_code != 202:
        raise SystemExit(f"{answer.status_code}: {answer.text[:200]}")


def _send(url: str, bodies: list[bytes], clients: int) -> float:
    """Seconds from the first request to the last answer; every answer must be a 202."""

    def one(client: httpx.Client, body: bytes) -> None:
        post_handoff(client, url, SECRET, body)

    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(clients) as pool:
        start = time.perf_counter()
        list(pool.map(lambda body: one(client, body), bodies))
        return time.perf_counter() - start


def _old_floor(url: str, bodies: list[bytes]) -> float:
    """The floor used until 2026-11-25: three text columns a lead, one row a lead."""
    rows = [
        {"source": lead["source"], "external_id": lead["external_id"], "data": json.dumps(lead)}
        for body in bodies
        for lead in json.loads(body)["leads"]
    ]
    engine = make_engine(url)
    try:
        return insert_floor(engine, rows)
    finally:
        engine.dispose()


def _stored_rows(bodies: list[bytes]) -> dict[Table, list[dict[str, Any]]]:
    """The rows the webhook writes for these leads, with their values: a lead row (every
    column the insert sets), its owner-history row and its card's outbox row. The
    deadlines are placeholders (the floor computes nothing)."""
    now = datetime.now(UTC)  # noqa: TID251 (a benchmark of the wall clock)
    rows: dict[Table, list[dict[str, Any]]] = {LEADS: [], OWNERS: [], OUTBOX: []}
    lead_id = 0
    for body in bodies:
        for lead in json.loads(body)["leads"]:
            lead_id += 1
            handed = datetime.fromisoformat(lead["handed_off_at"])
            owner = int(lead["owner_email"][1:].partition("@")[0]) + 1
            rows[LEADS].append(
                {
                    "id": lead_id,
                    "source": lead["source"],
                    "external_id": lead["external_id"],
                    "team_id": 1,
                    "handed_off_at": handed,
                    "due_at": handed + timedelta(hours=4),
                    "name": lead["name"],
                    "company": lead["company"],
                    "email": lead["email"],
                    "campaign": lead["campaign"],
                    "initial_owner_id": owner,
                    "owner_id": owner,
                    "created_at": now,
                    "next_nudge_at": handed + timedelta(hours=4),
                    "nudge_stage": "reminder",
                    "nudge_cycle": 0,
                }
            )
            rows[OWNERS].append(
                {"id": lead_id, "lead_id": lead_id, "rep_id": owner, "since": handed}
            )
            rows[OUTBOX].append(
                {
                    "id": lead_id,
                    "key": f"card:{lead_id}:owner",
                    "platform": "slack",
                    "target": "",
                    "payload": json.dumps({"kind": "lead_card", "lead_id": lead_id, "to": "owner"}),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    return rows


def _driver_rows(bodies: list[bytes], engine: Engine) -> dict[Table, list[dict[str, Any]]]:
    """`_stored_rows`, each value converted to what the driver receives."""
    stored = _stored_rows(bodies)
    for table, rows in stored.items():
        binds = {n: table.c[n].type.bind_processor(engine.dialect) for n in rows[0]}
        for row in rows:
            for name, bind in binds.items():
                if bind is not None:
                    row[name] = bind(row[name])
    return stored


def _write(engine: Engine, work: list[tuple[str, list[dict[str, Any]]]], *, copy: bool) -> float:
    """Seconds to write each (table name, rows) with one `executemany` of plain INSERTs
    (or, `copy`, one PostgreSQL `COPY`) a table, in one transaction."""
    start = time.perf_counter()
    with engine.begin() as conn:
        for name, rows in work:
            names = list(rows[0])
            if copy:
                with (
                    conn.connection.driver_connection.cursor() as cursor,  # type: ignore[union-attr]
                    cursor.copy(f"COPY {name} ({', '.join(names)}) FROM STDIN") as out,
                ):
                    for row in rows:
                        out.write_row([row[n] for n in names])
                continue
            sql = (
                f"INSERT INTO {name} ({', '.join(names)}) "
                f"VALUES ({', '.join(':' + n for n in names)})"
            )
            conn.execute(text(sql), rows)
    return time.perf_counter() - start


def _floor(url: str, bodies: list[bytes], *, copy: bool = False) -> float:
    """Seconds to write the rows the webhook stores for these leads (`_stored_rows`) by
    `_write` into scratch tables with the same column types and no keys, indexes or
    constraints. Values are converted before the clock starts."""
    engine = make_engine(url)
    metadata = MetaData()
    try:
        work = []
        for table, rows in _driver_rows(bodies, engine).items():
            scratch = Table(
                f"floor_{table.name}", metadata, *(Column(c.name, c.type) for c in table.c)
            )
            work.append((scratch.name, rows))
        metadata.create_all(engine)
        seconds = _write(engine, work, copy=copy)
        metadata.drop_all(engine)
        return seconds
    finally:
        engine.dispose()


def _schema_floor(database: str, pg_url: str, bodies: list[bytes], *, copy: bool) -> float:
    """Not the floor, a reference: the same rows written the same way into the real tables
    of a fresh database (their indexes, unique keys and foreign keys; the team and reps
    made first), to tell what the schema costs from what the code costs."""
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = fresh_database(database, Path(tmp), pg_url)
        try:
            engine = make_engine(url)
            upgrade(engine)
            now = datetime.now(UTC)  # noqa: TID251 (a benchmark of the wall clock)
            with engine.begin() as conn:
                conn.execute(TEAMS.insert(), {"name": "t", "timezone": "UTC", "created_at": now})
                conn.execute(
                    REPS.insert(),
                    [
                        {"email": f"r{i}@example.com", "created_at": now, "away": False}
                        for i in range(100)
                    ],
                )
            work = [(table.name, rows) for table, rows in _driver_rows(bodies, engine).items()]
            seconds = _write(engine, work, copy=copy)
            engine.dispose()
            return seconds
        finally:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--database", default="postgresql", help="postgresql or sqlite")
    parser.add_argument("--repeat", type=int, default=3, help="webhook runs of new leads (median)")
    parser.add_argument("--floor-repeat", type=int, default=3, help="floor runs (median)")
    parser.add_argument("--summary", help="append the result to this file (bench.summary)")
    pg_url_option(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = fresh_database(args.database, Path(tmp), args.pg_url)
        try:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            settings = parse_settings(CONFIG, "bench", {"DATABASE_URL": url})
            service = build_service(
                settings,
                read_environment({"IGNORERATE_WEBHOOK_SECRET": SECRET}),
                SystemClock(),
                scheduler_interval=None,
            )
            warm = _batches(2, start=-2)
            with process_tuning():  # as `serve` runs
                service.start()
                try:
                    with serve(service.app) as base:
                        endpoint = f"{base}/hooks/handoff"
                        ctx = get_context("spawn")
                        with ctx.Pool(1) as pool:
                            pool.apply(_send, (endpoint, warm, args.clients))
                            runs = [
                                pool.apply(
                                    _send,
                                    (
                                        endpoint,
                                        _batches(args.batches, r * args.batches),
                                        args.clients,
                                    ),
                                )
                                for r in range(args.repeat)
                            ]
                            seconds = statistics.median(runs)
                finally:
                    service.stop()
            many_floor = statistics.median(
                _floor(url, _batches(args.batches)) for _ in range(args.floor_repeat)
            )
            copy_floor = (
                statistics.median(
                    _floor(url, _batches(args.batches), copy=True) for _ in range(args.floor_repeat)
                )
                if args.database == "postgresql"
                else math.inf
            )
            floor = min(many_floor, copy_floor)
            schema = statistics.median(
                _schema_floor(
                    args.database,
                    args.pg_url,
                    _batches(args.batches),
                    copy=args.database == "postgresql",
                )
                for _ in range(args.floor_repeat)
            )
            old_floor = _old_floor(url, _batches(args.batches))
        finally:
            drop()
    leads = args.batches * BATCH
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores; {args.batches} batches of {BATCH}, {args.clients} clients; "
        f"median of {args.repeat} webhook runs ({', '.join(f'{r:.2f}' for r in runs)} s) and "
        f"{args.floor_repeat} floor runs"
    )
    copy_text = f"{copy_floor:.2f}" if math.isfinite(copy_floor) else "—"
    print(
        "| database | leads | webhook s | leads/s | floor: executemany s | floor: COPY s "
        "| floor leads/s | webhook / floor | old floor s | webhook / old floor "
        "| same rows into the real tables s | webhook / that |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.database} | {leads} | {seconds:.2f} | {leads / seconds:.0f} "
        f"| {many_floor:.2f} | {copy_text} | {leads / floor:.0f} | {seconds / floor:.1f}x "
        f"| {old_floor:.2f} | {seconds / old_floor:.1f}x | {schema:.2f} | {seconds / schema:.1f}x |"
    )
    backend = "SQLite" if args.database == "sqlite" else "PostgreSQL"
    for name, each in (("executemany", many_floor), ("COPY", copy_floor)):
        if not math.isfinite(each):
            continue
        record(
            args.summary,
            Row(
                f"handoff webhook, batches of {BATCH}",
                backend,
                f"{leads / seconds:,.0f} leads/s ({seconds:.2f} s)",
                f"{name} of the same rows {each:.2f} s",
                seconds / each,
                "≥ 2,000 leads/s, ≤ 3x floor",
                leads / seconds >= 2000 and seconds <= 3 * each,
                args.repeat,
            ),
        )


if __name__ == "__main__":
    main()

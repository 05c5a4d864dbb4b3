"""A HubSpot sync of many changed records from the fake HubSpot, beside the fake's own
paging time.

    python -m bench.crm_hubspot --records 100000 --backend sqlite

The fake holds `--records` changed records: half contacts that became MQLs (each owned by
one of 50 reps), half calls, each associated with one of those contacts; every record has a
modification time of its own, so the 10,000-result cap splits each object's read. The
sync (`bot.app.crm.sync` with `HubspotSource`, through `hubspot-api-client`) reads them
all and records the leads, their cards and the calls.

Floor: the same requests the sync sent (searches, association reads, owners), replayed in
the same order by a plain urllib3 loop that reads each answer's bytes and does nothing
with them: the time the fake takes to page its records. The fake runs in a process of its
own (`bench.fake_process`), as HubSpot is another machine. Search pacing is off in both
(HubSpot's 4 a second would add pages / 4 seconds, printed); one run each.

A second floor, the database's (`bench.crm_floor`): the leads and actions the sync stored,
written again in the same run into scratch tables of the same column types with one COPY
(PostgreSQL) or one executemany (SQLite) a table. The sync's time beyond the fake's
paging, over it, is how close the database half of a backfill is to what the database
takes (the issue's target: at most 3x).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import urllib3

from bench.crm_floor import database_floor
from bench.fake_process import answer, ask, fake_process
from bench.run import fresh_database, pg_url_option
from bench.summary import Row, record
from bot.app.crm import sync
from bot.clock import FixedClock
from bot.config import parse_settings
from bot.crm.hubspot import HubspotSource
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.fake_hubspot import TOKEN, FakeHubspot, fake_hubspot, iso, ms_of

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
REPS = 50
TARGET = 3.0  # the sync may take this many times the fake's own paging
DATABASE_TARGET = 3.0  # the sync beyond the paging, over the database floor


def _load(fake: FakeHubspot, records: int) -> None:
    contacts = records // 2
    for i in range(REPS):
        fake.add_owner(str(i + 1), f"r{i}@example.com")
    stage = iso(ms_of(T0 - timedelta(hours=1)))
    ids: list[str] = []
    for i in range(contacts):
        props = {
            "lifecyclestage": "marketingqualifiedlead",
            "hs_lifecyclestage_marketingqualifiedlead_date": stage,
            "hubspot_owner_id": str(i % REPS + 1),
            "firstname": f"Lead{i}",
            "email": f"lead{i}@example.org",
        }
        ids.append(fake.add("contacts", props, modified=T0 + timedelta(milliseconds=10 * i)))
    for i in range(records - contacts):
        props = {"hs_timestamp": iso(ms_of(T0 + timedelta(minutes=1))), "hubspot_owner_id": "1"}
        fake.add(
            "calls",
            props,
            contacts=(ids[i % len(ids)],),
            modified=T0 + timedelta(milliseconds=10 * i),
        )


def _serve(conn: Connection, records: int) -> None:
    """The fake's process: the fake, loaded with `records`; asked "reads", it answers the
    requests the sync sent (in order) and how many were searches."""
    with fake_hubspot() as fake:
        fake.at(T0 + timedelta(hours=2))
        _load(fake, records)
        answer(conn, fake.url, {"reads": lambda: (list(fake.reads), len(fake.searches))})


def _floor(url: str, reads: list[tuple[str, str, bytes]]) -> float:
    pool = urllib3.PoolManager()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    start = time.perf_counter()
    for method, path, body in reads:
        answer = pool.request(method, url + path, body=body or None, headers=headers)
        assert answer.status == 200, answer.status
        _ = answer.data
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--summary", help="append the result to this file (bench.summary)")
    pg_url_option(parser)
    args = parser.parse_args()
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores; {args.records:,} changed records, {args.backend}"
    )
    config: dict[str, Any] = {
        "timezone": "UTC",
        "teams": [
            {
                "name": "t",
                "sla": {"minutes": 60, "business_hours": False},
                "reps": [f"r{i}@example.com" for i in range(REPS)],
            }
        ],
        "crm": {"hubspot": {"actions": {"types": ["calls"]}}},
    }
    with (
        fake_process(_serve, args.records) as (fake, fake_url),
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {"HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_API_URL": fake_url}
        settings = parse_settings(config, "bench", env=env)
        assert settings.crm.hubspot is not None
        url, drop = fresh_database(args.backend, Path(tmp), args.pg_url)
        engine = make_engine(url)
        try:
            upgrade(engine)
            clock = FixedClock(T0 + timedelta(hours=2))
            src = HubspotSource(settings.crm.hubspot, clock=clock, search_per_second=None)
            start = time.perf_counter()
            runs = sync(engine, settings, [src], clock)
            took = time.perf_counter() - start
            stored = database_floor(engine)
        finally:
            engine.dispose()
            drop()
        errors = [r.error for r in runs if r.error]
        if errors:
            raise SystemExit(f"the sync failed: {errors}")
        leads = sum(r.tally.leads_new for r in runs)
        actions = sum(r.tally.actions_new for r in runs)
        pages = sum(r.tally.pages for r in runs)
        reads, searches = ask(fake, "reads")
        floor = _floor(fake_url, reads)
    ratio = took / floor
    beyond = (took - floor) / stored.seconds
    print(
        "| records | pages | requests | sync s | floor s (fake's paging) | ratio "
        "| database floor s | (sync − paging) / database |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.records:,} | {pages} | {len(reads)} | {took:.2f} | {floor:.2f} | {ratio:.2f}x "
        f"| {stored.seconds:.2f} | {beyond:.1f}x |"
    )
    print(
        f"recorded {leads:,} leads and {actions:,} calls; {searches} searches would take "
        f"at least {searches / 4:.0f} s at HubSpot's 4 searches a second"
    )
    name = "SQLite" if args.backend == "sqlite" else "PostgreSQL"
    record(
        args.summary,
        Row(
            f"HubSpot sync, {args.records:,} changed records",
            name,
            f"{took:.2f} s ({args.records / took:,.0f} records/s)",
            f"{floor:.2f} s (the fake's paging)",
            ratio,
            f"≤ {TARGET:g}x the fake's paging",
            ratio <= TARGET,
            1,
        ),
    )
    record(
        args.summary,
        Row(
            f"HubSpot sync, {args.records:,} changed records, beyond the paging",
            name,
            f"{took - floor:.2f} s (the sync less the fake's paging)",
            stored.describe(),
            beyond,
            f"≤ {DATABASE_TARGET:g}x the database floor",
            beyond <= DATABASE_TARGET,
            1,
        ),
    )


if __name__ == "__main__":
    main()

"""A Salesforce sync of many changed records from the fake Salesforce (tests/fake_salesforce,
HTTPS on loopback), beside the fake's own paging time.

    python -m bench.crm_salesforce --records 100000 --backends sqlite,postgresql

The fake holds `--records` changed records: half MQL leads (handoff time from
`MQL_Date__c`, so no history lookups), half completed calls on them. The figure is one
full sync (`bot.app.crm.sync`: the real simple-salesforce client, paging by
`nextRecordsUrl`, and the database: leads, cards queued, actions, cursors). The floor is
the same queries and pages fetched in the same run by a plain `requests` loop that does
nothing with them: what no sync can go below with this fake. The fake runs in a process
of its own (`bench.fake_process`), as Salesforce is another machine.

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

import requests

from bench.crm_floor import database_floor
from bench.fake_process import answer, fake_process
from bench.run import fresh_database, pg_url_option
from bench.summary import Row, record
from bot.app.crm import sync
from bot.clock import FixedClock
from bot.config import parse_settings
from bot.crm.salesforce import SalesforceSource
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.fake_salesforce import CLIENT_ID, FakeSalesforce, fake_salesforce, make_keys

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
REPS = 50
MQL = "Marketing Qualified"
TARGET = 3.0  # the sync beyond the fake's paging may take this many times the database floor


def _fill(fake: FakeSalesforce, records: int) -> None:
    reps = [fake.add_user(f"r{i}@example.com") for i in range(REPS)]
    fake.add_user("integration@example.com")
    fake.add_field("Lead", "MQL_Date__c")
    leads = max(1, records // 2)
    for i in range(leads):
        fake.now = T0 + timedelta(milliseconds=i)
        owner = reps[i % REPS]
        lead = fake.add_lead(owner)
        fake.update("Lead", lead, by=owner, Status=MQL, MQL_Date__c=fake.now)
        if i < records - leads:
            fake.now = T0 + timedelta(minutes=10, milliseconds=i)
            fake.log_task(lead, owner)
    fake.now = T0 + timedelta(hours=1)


def _serve(conn: Connection, work: str, public_key: bytes, records: int) -> None:
    """The fake's process: the fake, loaded with `records`, until told to stop."""
    with fake_salesforce(Path(work), public_key) as (fake, ca_file):
        _fill(fake, records)
        answer(conn, (fake.base_url, str(ca_file), fake.api_version, fake.now), {})


def page_of(response: requests.Response) -> dict[str, Any]:
    found: dict[str, Any] = response.json()
    return found


def _floor(base_url: str, version: str, source: SalesforceSource) -> tuple[float, int]:
    """The same queries, every page fetched and decoded, nothing done with them (with
    the session the sync logged in with)."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {source.api.client().session_id}"}
    base = f"{base_url}/services/data/v{version}"
    queries = [source.query(obj, None) for obj in source.objects()]
    options: dict[str, Any] = {"headers": headers, "timeout": 300}
    fetched = 0
    start = time.perf_counter()
    try:
        for query, deleted in queries:
            path = "queryAll" if deleted else "query"
            page = page_of(session.get(f"{base}/{path}", params={"q": query}, **options))
            fetched += len(page["records"])
            while not page["done"]:
                page = page_of(session.get(f"{base_url}{page['nextRecordsUrl']}", **options))
                fetched += len(page["records"])
    finally:
        session.close()
    return time.perf_counter() - start, fetched


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--summary", help="append the result to this file (bench.summary)")
    pg_url_option(parser)
    args = parser.parse_args()
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores; {args.records:,} changed records, pages of 2,000"
    )
    print(
        "| backend | records | sync s | paging floor s | sync / paging | database floor s "
        "| (sync − paging) / database |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        keys = make_keys(work)
        with fake_process(_serve, str(work), keys.public_key, args.records) as (_, ready):
            base_url, ca_file, version, now = ready
            os.environ["REQUESTS_CA_BUNDLE"] = ca_file
            env = {
                "SALESFORCE_CLIENT_ID": CLIENT_ID,
                "SALESFORCE_USERNAME": "integration@example.com",
                "SALESFORCE_PRIVATE_KEY_FILE": str(keys.private_key_file),
                "SALESFORCE_LOGIN_URL": base_url,
            }
            raw = {
                "timezone": "UTC",
                "teams": [
                    {
                        "name": "t",
                        "sla": {"minutes": 60, "business_hours": False},
                        "reps": [f"r{i}@example.com" for i in range(REPS)],
                        "slack_channel": "C1",
                    }
                ],
                "crm": {
                    "salesforce": {
                        "handoff": {"when": f"Status = '{MQL}'", "at": "MQL_Date__c"},
                        "actions": {"tasks": {"subtypes": ["Call"]}, "events": False},
                    }
                },
            }
            settings = parse_settings(raw, "bench", env=env)
            assert settings.crm.salesforce is not None
            for backend in args.backends.split(","):
                (work / backend).mkdir(exist_ok=True)
                url, drop = fresh_database(backend, work / backend, args.pg_url)
                engine = make_engine(url)
                source = SalesforceSource(settings.crm.salesforce, clock=FixedClock(now))
                try:
                    upgrade(engine)
                    start = time.perf_counter()
                    runs = sync(engine, settings, [source], FixedClock(now))
                    seconds = time.perf_counter() - start
                    errors = [r.error for r in runs if r.error]
                    if errors:
                        raise SystemExit(f"the sync failed: {errors}")
                    read = sum(r.tally.records for r in runs)
                    floor, fetched = _floor(base_url, version, source)
                    stored = database_floor(engine)
                finally:
                    source.close()
                    engine.dispose()
                    drop()
                if read != fetched:
                    raise SystemExit(f"the sync read {read} records, the floor {fetched}")
                ratio = seconds / floor
                beyond = (seconds - floor) / stored.seconds
                print(
                    f"| {backend} | {read:,} | {seconds:.2f} | {floor:.2f} | {ratio:.1f}x "
                    f"| {stored.seconds:.2f} | {beyond:.1f}x |",
                    flush=True,
                )
                name = "SQLite" if backend == "sqlite" else "PostgreSQL"
                record(
                    args.summary,
                    Row(
                        f"Salesforce sync, {args.records:,} changed records",
                        name,
                        f"{seconds:.2f} s ({read / seconds:,.0f} records/s)",
                        f"{floor:.2f} s (paging the fake alone)",
                        ratio,
                        "reported (no target)",
                        True,
                        1,
                    ),
                )
                record(
                    args.summary,
                    Row(
                        f"Salesforce sync, {args.records:,} changed records, beyond the paging",
                        name,
                        f"{seconds - floor:.2f} s (the sync less the fake's paging)",
                        stored.describe(),
                        beyond,
                        f"≤ {TARGET:g}x the database floor",
                        beyond <= TARGET,
                        1,
                    ),
                )


if __name__ == "__main__":
    main()

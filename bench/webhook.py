"""The handoff webhook under batches of 500 leads, beside a floor of the same rows.

    python -m bench.webhook --batches 40 --clients 2 --database postgresql

`ignorerate serve`'s app (Slack off: nothing here waits on Slack) runs with uvicorn on a
loopback port; a child process sends signed batches of 500 new leads from `--clients`
connections at once, and the figure is leads stored per second, from the first request
to the last answer (202s only). Every answer is checked. Floor, in the same run on the
same server: the same rows written by one `executemany` of plain INSERTs into a scratch
table (no checks, no keys, no owners, no cards).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import platform
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

from bench.run import fresh_database, insert_floor, pg_url_option
from bot.bootstrap import build_service
from bot.clock import SystemClock
from bot.config import parse_settings
from storage.engine import make_engine
from storage.migrate import upgrade
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


def _batches(count: int) -> list[bytes]:
    handed = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()  # noqa: TID251 (a benchmark of the wall clock)
    return [
        json.dumps(
            {
                "leads": [
                    {
                        "source": "bench",
                        "external_id": f"{b}-{i}",
                        "handed_off_at": handed,
                        "team": "t",
                        "owner_email": f"r{i % 100}@example.com",
                        "name": f"Lead {b}-{i}",
                        "company": "Example KK",
                        "email": f"lead{b}-{i}@example.com",
                        "campaign": "webinar-2026-11",
                    }
                    for i in range(BATCH)
                ]
            }
        ).encode()
        for b in range(count)
    ]


def _send(url: str, bodies: list[bytes], clients: int) -> float:
    """Seconds from the first request to the last answer; every answer must be a 202."""

    def one(client: httpx.Client, body: bytes) -> None:
        ts = str(int(time.time()))
        mac = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
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

    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(clients) as pool:
        start = time.perf_counter()
        list(pool.map(lambda body: one(client, body), bodies))
        return time.perf_counter() - start


def _floor(url: str, bodies: list[bytes]) -> float:
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--database", default="postgresql", help="postgresql or sqlite")
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
                {"IGNORERATE_WEBHOOK_SECRET": SECRET},
                SystemClock(),
                scheduler_interval=None,
            )
            service.start()
            warm, bodies = _batches(args.batches + 2)[:2], _batches(args.batches + 2)[2:]
            try:
                with serve(service.app) as base:
                    endpoint = f"{base}/hooks/handoff"
                    ctx = get_context("spawn")
                    with ctx.Pool(1) as pool:
                        pool.apply(_send, (endpoint, warm, args.clients))
                        seconds = pool.apply(_send, (endpoint, bodies, args.clients))
            finally:
                service.stop()
            floor = _floor(url, _batches(args.batches))
        finally:
            drop()
    leads = args.batches * BATCH
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores; {args.batches} batches of {BATCH}, {args.clients} clients"
    )
    print("| database | leads | webhook s | leads/s | floor s | floor leads/s | webhook / floor |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.database} | {leads} | {seconds:.2f} | {leads / seconds:.0f} | {floor:.2f} | "
        f"{leads / floor:.0f} | {seconds / floor:.1f}x |"
    )


if __name__ == "__main__":
    main()

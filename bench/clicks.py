"""Slack button clicks acknowledged under 50 concurrent clients, over loopback HTTP.

    python -m bench.clicks --clients 50 --rounds 20 --database sqlite

Four servers, each run with uvicorn on its own port, hit by the same 50 concurrent
clients (httpx, one connection each) sending signed `block_actions` payloads:
- floor: a bare Starlette endpoint that returns 200;
- Bolt's sync `App.dispatch` called on the event loop (what Bolt's own Starlette adapter
  does);
- `dispatch` in a worker thread, work after the answer on Bolt's pool at once;
- ours (what `ignorerate serve` does): the click answered before Bolt sees it, Bolt's
  dispatch and the work after it waiting for a lull in requests (bot/http/lull.py).
Each click is a different lead, so every one records an action and updates a card
against a local fake Slack after its answer. Latency is from sending to the HTTP answer;
"all recorded" is when the last click's action was in the database, counted from the
last answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import urlencode

import httpx
import yaml
from slack_bolt import BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.run import fresh_database
from bench.summary import Row, record
from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.clock import SystemClock
from bot.config import parse_settings, read_environment
from bot.http.server import Server
from bot.serve import build_service, process_tuning
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import Action, OutboxMessage
from tests.fakes import BOT_TOKEN, serve

SECRET = "bench-signing-secret"  # noqa: S105 (a throwaway secret for a local run)
CONFIG = {
    "timezone": "UTC",
    "teams": [
        {
            "name": "t",
            "sla": {"minutes": 60, "business_hours": False},
            "slack_channel": "CTEAM",
            "reps": [f"r{i}@example.com" for i in range(50)],
        }
    ],
}


def _payload(user: str, lead_id: int) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user, "team_id": "T1"},
        "api_app_id": "A1",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "D1"},
        "trigger_id": "1.1.x",
        "team": {"id": "T1", "domain": "bench"},
        "channel": {"id": "D1", "name": "dm"},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "action_id": "lead.contacted.call",
                "block_id": f"lead:{lead_id}:contact",
                "value": str(lead_id),
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def _signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": str(
            SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
        ),
    }


def _load_in_child(url: str, bodies: list[list[str]]) -> tuple[list[float], float]:
    """The clients run in a process of their own: in the server's process they would
    share its GIL and be measured as server time."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        *latencies, last_answer = pool.submit(_run_load, url, bodies).result()
    return latencies, last_answer


def _run_load(url: str, bodies: list[list[str]]) -> list[float]:
    return asyncio.run(_load(url, bodies))


async def _load(url: str, bodies: list[list[str]]) -> list[float]:
    """Each round: every client sends one click at the same moment; latencies in ms."""
    clients = [httpx.AsyncClient(timeout=30) for _ in bodies[0]]
    latencies: list[float] = []
    last_answer = [0.0]  # wall clock, which the parent process shares

    async def one(client: httpx.AsyncClient, body: str) -> None:
        start = time.perf_counter()
        answer = await client.post(url, content=body.encode(), headers=_signed(body))
        latencies.append((time.perf_counter() - start) * 1000)
        last_answer[0] = time.time()
        if answer.status_code != 200:
            raise SystemExit(f"{url}: HTTP {answer.status_code} {answer.text[:200]}")

    try:
        for round_bodies in bodies:
            await asyncio.gather(*(one(c, b) for c, b in zip(clients, round_bodies, strict=True)))
    finally:
        for c in clients:
            await c.aclose()
    latencies.append(last_answer[0])
    return latencies


Result = dict[str, float | str]


def _summary(name: str, ms: list[float]) -> Result:
    ordered = sorted(ms)
    return {
        "server": name,
        "clicks": len(ms),
        "p50_ms": round(statistics.median(ordered), 1),
        # nearest rank: the smallest value at or above 99 % of the clicks (int() instead of
        # ceil() picked the fastest click of two)
        "p99_ms": round(ordered[math.ceil(len(ordered) * 0.99) - 1], 1),
        "max_ms": round(ordered[-1], 1),
    }


async def _bare(_request: Request) -> Response:
    return Response(status_code=200)


class _OnTheLoop(Server):
    """What Bolt's own Starlette adapter does: the synchronous `App.dispatch` called on the
    event loop."""

    async def dispatch(self, request: BoltRequest) -> BoltResponse:
        assert self.bolt is not None
        return self.bolt.dispatch(request)


def _on_the_loop(server: Server) -> Server:
    """Every request, clicks included, dispatched on the event loop."""
    same = {f.name: getattr(server, f.name) for f in fields(server) if f.init}
    return _OnTheLoop(**{**same, "answers_later": None})


def _in_a_thread(server: Server) -> Server:
    """Every request, clicks included, dispatched in a worker thread; the work after a
    click's answer runs on Bolt's pool at once."""
    return replace(server, answers_later=None)


# how each server differs from what `serve` builds; None: not at all (ours)
Variant = Callable[[Server], Server] | None


@contextmanager
def _bot(url: str, slack_url: str, variant: Variant) -> Iterator[str]:
    settings = parse_settings(
        yaml.safe_load(yaml.safe_dump(CONFIG)), "bench", {"DATABASE_URL": url}
    )
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{slack_url}/api/",
    }
    service = build_service(settings, read_environment(env), SystemClock())
    if variant is not None:
        service.app = variant(service.server).app()
    with process_tuning():  # as `serve` runs
        service.start()
        try:
            with serve(service.app) as base:
                yield f"{base}/slack/events"
        finally:
            service.stop()


@contextmanager
def _fake_slack_process(users: int) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 (our own test server)
        [sys.executable, "-m", "tests.fakes", "--port", str(port), "--users", str(users)]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.post(f"{url}/api/auth.test", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _all_recorded(engine: Engine, clicks: int) -> None:
    """Waits until every click's action is in the database and the outbox has nothing
    left to send."""
    start = time.perf_counter()
    while True:
        with engine.connect() as conn:
            done = conn.scalar(select(func.count()).select_from(Action))
            queued = conn.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending")
            )
        if done is not None and done >= clicks and not queued:
            return
        if time.perf_counter() - start > 120:
            raise SystemExit(f"only {done} of {clicks} clicks recorded after 120 s")
        time.sleep(0.01)


def _nothing() -> None:
    pass


SERVERS: tuple[tuple[str, Variant], ...] = (
    ("Bolt dispatch on the loop", _on_the_loop),
    ("Bolt dispatch in a thread", _in_a_thread),
    ("ours: answered first, work after a lull", None),
)


def _one_run(args: argparse.Namespace, slack_url: str, tmp: Path, run: int) -> list[Result]:
    """The floor and each server once, the floor first."""
    results = []
    with serve(Starlette(routes=[Route("/slack/events", _bare, methods=["POST"])])) as base:
        bodies = [[_payload(f"U{c}", 1) for c in range(args.clients)] for _ in range(args.rounds)]
        _load_in_child(f"{base}/slack/events", bodies[:2])  # warm up
        results.append(
            _summary("floor: bare Starlette 200", _load_in_child(f"{base}/slack/events", bodies)[0])
        )
    for server, (name, variant) in enumerate(SERVERS):
        tag = f"{run}-{server}"
        drop: Callable[[], None] = _nothing
        if args.database == "sqlite":
            url = f"sqlite:///{tmp / f'{tag}.db'}"
        else:  # a scratch database on that server, dropped at the end
            url, drop = fresh_database("postgresql", tmp, args.database)
        engine = make_engine(url)
        try:
            upgrade(engine)
            now = SystemClock().now()
            leads = [
                LeadInput(
                    "bench",
                    f"{tag}-{n}",
                    now - timedelta(minutes=5),
                    "t",
                    f"r{n % args.clients}@example.com",
                    None,
                    None,
                    None,
                    None,
                )
                for n in range(args.clients * (args.rounds + 2))
            ]
            settings = parse_settings(
                yaml.safe_load(yaml.safe_dump(CONFIG)), "bench", {"DATABASE_URL": url}
            )
            ids = sorted(receive_handoffs(engine, settings, leads, now).new)
            with _bot(url, slack_url, variant) as endpoint:
                rounds = [
                    [_payload(f"U{c}", ids[r * args.clients + c]) for c in range(args.clients)]
                    for r in range(args.rounds + 2)
                ]
                _load_in_child(endpoint, rounds[:2])
                # the measured burst meets a bot at rest: the cards of the setup sent and the
                # warm-up's clicks recorded; what the burst's own clicks start competes
                _all_recorded(engine, 2 * args.clients)
                latencies, last_answer = _load_in_child(endpoint, rounds[2:])
                result = _summary(name, latencies)
                _all_recorded(engine, len(ids))
                result["recorded_s"] = max(0.0, time.time() - last_answer)
                results.append(result)
        finally:
            engine.dispose()
            drop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="figures are medians of these")
    parser.add_argument("--database", default="sqlite", help="sqlite, or a PostgreSQL URL")
    parser.add_argument("--summary", help="append the result to this file (bench.summary)")
    args = parser.parse_args()
    runs: list[list[Result]] = []
    with _fake_slack_process(args.clients) as slack_url, tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            runs.append(_one_run(args, slack_url, Path(tmp), run))
    medians: list[Result] = []
    for per_server in zip(*runs, strict=True):
        median: Result = {"server": per_server[0]["server"]}
        for key in ("clicks", "p50_ms", "p99_ms", "max_ms", "recorded_s"):
            if key in per_server[0]:
                median[key] = round(statistics.median(float(r[key]) for r in per_server), 1)
        medians.append(median)
    floor_p99 = float(medians[0]["p99_ms"])
    backend = "SQLite" if args.database == "sqlite" else "PostgreSQL"
    print(f"# {backend}, {args.clients} clients x {args.rounds} rounds, medians of {args.runs}")
    print("| server | clicks | p50 ms | p99 ms | max ms | p99 / floor p99 | all recorded |")
    print("|---|---|---|---|---|---|---|")
    for r in medians:
        recorded = f"+{float(r['recorded_s']):.2f} s" if "recorded_s" in r else "—"
        print(
            f"| {r['server']} | {int(r['clicks'])} | {r['p50_ms']} | {r['p99_ms']} | "
            f"{r['max_ms']} | {float(r['p99_ms']) / floor_p99:.1f}x | {recorded} |"
        )
    ours = float(medians[-1]["p99_ms"])
    record(
        args.summary,
        Row(
            f"button click answered, {args.clients} concurrent clients",
            backend,
            f"p99 {ours:.0f} ms",
            f"p99 {floor_p99:.0f} ms",
            ours / floor_p99,
            "p99 < 100 ms, ≤ 3x floor",
            ours < 100 and ours <= 3 * floor_p99,
            args.runs,
        ),
    )


if __name__ == "__main__":
    main()

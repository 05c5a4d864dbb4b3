"""`/ignorerate last-month` end to end at scale, beside the report's floor in the same run.

    python -m bench.command --leads 1000000 --backends sqlite,postgresql --repeat 7

The app (`build_service`, as `ignorerate serve` builds it, with the clock fixed at
bench.run's AS_OF) runs in a process of its own on a loopback port, its Web API pointed
at the fake Slack (another process). This process sends a signed `/ignorerate
last-month` from an admin with no team (so: all teams, totals only, as the floor) whose
response_url points at a receiver here; the figure is from sending the request to the
answer's arrival at the receiver, median of --repeat runs after one warm-up. Between two
of them, the floor (bench.run's hand-written aggregate of the same seven counts, on the
same database) is timed, so both see the same load. The answer's numbers must equal the
floor's counts, or nothing is printed.

The 1M-lead databases take minutes to build (generate, then the real CLI import), so
they are kept (`bench.database`): a SQLite file under --out and a PostgreSQL database on
--pg-url's server, both named after --leads, reused when they hold leads. --sqlite /
--postgresql point at any other already built database.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import yaml
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.clicks import _fake_slack_process
from bench.database import app_process, database_arguments, databases, serve_on
from bench.generate import Shape, config_text
from bench.run import AS_OF, PERIOD, report_floor
from bench.summary import Row, record
from bot.config import parse_settings, read_environment
from metrics.periods import parse_period
from storage.engine import make_engine
from tests.fakes import BOT_TOKEN, serve

SECRET = "bench-command-secret"  # noqa: S105 (a throwaway secret for a local run)
ADMIN = "r0@example.com"  # U0 at the fake Slack; an admin in no team: the report is all teams
COUNTS = re.compile(
    r"(?P<handed_off>\d+) passed · (?P<excluded>\d+) excluded · \d+ counted: "
    r"(?P<ignored>\d+) ignored, \d+ actioned \((?P<on_time>\d+) on time, (?P<late>\d+) late, "
    r"(?P<rejected>\d+) rejected\)"
)
PENDING = re.compile(r"(?P<pending>\d+) pending \(")


def _config(leads: int) -> dict[str, Any]:
    """The generated data set's teams, with the fake Slack's U0 as an admin."""
    config: dict[str, Any] = yaml.safe_load(config_text(Shape(leads=leads)))
    config["admins"] = [*config.get("admins", []), ADMIN]
    return config


def _serve_app(config: dict[str, Any], url: str, slack_url: str, port: int) -> None:
    """The server process: the app as `serve` builds it, the clock at AS_OF, no ticks."""

    from bot.clock import FixedClock
    from bot.serve import build_service

    settings = parse_settings(config, "bench", {"DATABASE_URL": url})
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": f"{slack_url}/api/",
    }
    service = build_service(
        settings, read_environment(env), FixedClock(AS_OF), scheduler_interval=None
    )
    serve_on(service, port)


@dataclass
class Receiver:
    """The response_url: keeps the moment each answer arrived, and the answer."""

    arrived: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    event: threading.Condition = field(default_factory=threading.Condition)

    async def post(self, request: Request) -> Response:
        body = await request.body()
        moment = time.perf_counter()
        with self.event:
            self.arrived[request.path_params["key"]] = (moment, json.loads(body))
            self.event.notify_all()
        return Response("ok")

    def wait(self, key: str, timeout: float = 300) -> tuple[float, dict[str, Any]]:
        with self.event:
            if not self.event.wait_for(lambda: key in self.arrived, timeout):
                raise SystemExit(f"no answer at the response_url within {timeout} s")
            return self.arrived[key]

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/answer/{key}", self.post, methods=["POST"])])


def _slash_command(http: httpx.Client, base: str, response_url: str) -> None:
    body = urlencode(
        {
            "token": "unused",
            "team_id": "T111",
            "team_domain": "bench",
            "channel_id": "CBENCH",
            "channel_name": "bench",
            "user_id": "U0",
            "user_name": "r0",
            "command": "/ignorerate",
            "text": PERIOD,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": "1.1.x",
        }
    )
    ts = str(int(time.time()))
    answer = http.post(
        f"{base}/slack/events",
        content=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": str(
                SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
            ),
        },
    )
    if answer.status_code != 200:
        raise SystemExit(f"/ignorerate: HTTP {answer.status_code} {answer.text[:200]}")


def answered_counts(answer: dict[str, Any]) -> tuple[int, ...]:
    """The seven counts an answer shows, in the order of bench.run's floor."""
    words = json.dumps(answer.get("blocks", []), ensure_ascii=False)
    found = COUNTS.search(words)
    if found is None:
        raise SystemExit(f"no counts in the answer: {words[:500]}")
    pending = PENDING.search(words)
    n = {k: int(v) for k, v in found.groupdict().items()}
    n["pending"] = int(pending["pending"]) if pending else 0
    return tuple(
        n[k]
        for k in ("handed_off", "excluded", "on_time", "late", "pending", "ignored", "rejected")
    )


def run(backend: str, url: str, leads: int, repeat: int, slack_url: str) -> dict[str, Any]:
    engine = make_engine(url)
    config = _config(leads)
    settings = parse_settings(config, "bench", {"DATABASE_URL": url})
    start, end = parse_period(PERIOD, AS_OF.astimezone(settings.timezone).date()).bounds(
        settings.timezone
    )
    floor = report_floor(engine, start, end)
    receiver = Receiver()
    e2e: list[float] = []
    floors: list[float] = []
    with (
        serve(receiver.app()) as receiver_url,
        app_process(_serve_app, config, url, slack_url) as base,
        httpx.Client(timeout=300) as http,
    ):
        for n in range(repeat + 1):  # the first is a warm-up
            key = str(n)
            sent = time.perf_counter()
            _slash_command(http, base, f"{receiver_url}/answer/{key}")
            arrived, answer = receiver.wait(key)
            began = time.perf_counter()
            counts = floor()
            floored = time.perf_counter() - began
            if answered_counts(answer) != counts:
                raise SystemExit(f"{backend}: the answer {answered_counts(answer)} != {counts}")
            if n:
                e2e.append(arrived - sent)
                floors.append(floored)
    engine.dispose()
    median, floor_median = statistics.median(e2e), statistics.median(floors)
    return {
        "backend": backend,
        "cohort": counts[0],
        "runs": repeat,
        "e2e": median,
        "floor": floor_median,
        "ratio": median / floor_median,
    }


def main() -> None:
    args = database_arguments(__doc__, repeat=7)
    urls = dict(databases(args))
    with _fake_slack_process(1) as slack_url:
        results = [run(b, u, args.leads, args.repeat, slack_url) for b, u in urls.items()]
    print("| backend | leads in the cohort | runs | end to end | floor | end to end / floor |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['cohort']:,} | {r['runs']} | {r['e2e']:.3f} s | "
            f"{r['floor']:.3f} s | {r['ratio']:.2f}x |"
        )
        limit = 2.0 if r["backend"] == "sqlite" else 1.5
        record(
            args.summary,
            Row(
                f"/ignorerate last-month end to end, {args.leads:,} leads",
                "SQLite" if r["backend"] == "sqlite" else "PostgreSQL",
                f"{r['e2e']:.3f} s",
                f"{r['floor']:.3f} s (one SQL aggregate)",
                r["ratio"],
                f"≤ {limit:g}x floor",
                r["ratio"] <= limit,
                r["runs"],
            ),
        )


if __name__ == "__main__":
    main()

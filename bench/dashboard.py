"""The dashboard's pages at scale, over real HTTP, beside the report's totals in the same run.

    python -m bench.dashboard --leads 1000000 --backends sqlite,postgresql --repeat 5

The app is built as `ignorerate demo` builds it (`build_service` with the dashboard and
`bot.web.demo.DemoAuth`, the demo's sign-in, which answers on loopback only), the clock
fixed at bench.run's AS_OF, and served by uvicorn in a process of its own on a loopback
port. This process signs in once through the sign-in form as the configuration's admin
(who sees every team) and keeps the session cookie. Each figure is from sending the
request to the last byte of the answer, the median of --repeat runs after one warm-up:

- `GET /`: the overview, its default period (last-4-weeks): a tile per team and each
  team's 12-week trend;
- `GET /teams/<team>`: the team with the most leads in that period;
- `GET /leads`: the first page of the list (every team, last-4-weeks);
- `GET /leads/<id>`: the lead with the most actions;
- `GET /leads.csv?team=<team>&period=last-month`: one team, one month, streamed: the
  time to its first byte (when the download starts, which is what the person waits for)
  and to its last, with its rows/s.

The floor of each page, timed between two of the page's runs so that both see the same
load, is the `/ignorerate` totals query (`bot.app.reports.report` with
`breakdowns=False`: what `/ignorerate last-month` computes, one aggregate per call) for
the periods and teams the page shows, called one after the other, summed:

- the overview: for each team (3), its current period (last-4-weeks), its previous
  period (the same 28 days just before, as the explicit range `START..END`) and each of
  the 12 ISO weeks of its trend (`YYYY-Www`): 14 calls a team, 42 in all;
- a team's page: the same 14 calls for that team (the page shows breakdowns too: the
  ratio is reported, the target is the time);
- the leads' first page: the period's totals of each team (3 calls);
- the CSV: that team's month (1 call);
- one lead: no floor (no cohort).

The pages' numbers must equal the floor's: each tile's counts, each trend week's ignore
rate, the CSV's row count; otherwise nothing is printed.

Targets (the dashboard issue): the overview at most 2x its floor (both backends); every
page under 500 ms on PostgreSQL; for the CSV, a download whose length follows its rows,
its first byte. The database is `bench.database`'s, shared with
bench.command: built once per size, reused.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import yaml
from sqlalchemy import text

from bench.database import app_process, database_arguments, databases, serve_on
from bench.generate import Shape, config_text
from bench.run import AS_OF, BACKEND_NAMES
from bench.summary import Row, record
from bot.app.dashboard import DEFAULT_PERIOD, TREND_WEEKS, previous_period
from bot.app.reports import report
from bot.config import Settings, parse_settings
from metrics.periods import parse_period
from metrics.rates import Counts
from metrics.summary import IsoWeek, trend_weeks
from storage.engine import Engine, make_engine

ADMIN = "revops@example.com"  # the generated configuration's admin: every team
CSV_PERIOD = "last-month"
TARGET_MS = 500  # every page on PostgreSQL
OVERVIEW_RATIO = 2.0


def _config(leads: int) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(config_text(Shape(leads=leads)))
    if ADMIN not in config.get("admins", []):
        raise SystemExit(f"the generated configuration has no admin {ADMIN}")
    return config


def _serve_app(config: dict[str, Any], url: str, port: int) -> None:
    """The server process: the app as the demo builds it, the clock at AS_OF, no ticks."""

    from bot.clock import FixedClock
    from bot.config import read_environment
    from bot.serve import build_service
    from bot.web.demo import DemoAuth

    base = f"http://127.0.0.1:{port}"
    settings = parse_settings(config, "bench", {"DATABASE_URL": url})
    clock = FixedClock(AS_OF)
    auth = DemoAuth(settings, clock, [ADMIN], base)
    service = build_service(
        settings,
        read_environment({"PUBLIC_BASE_URL": base}),
        clock,
        scheduler_interval=None,
        dashboard_auth=auth,
    )
    serve_on(service, port)


def sign_in(http: httpx.Client) -> None:
    """Through the demo's form, as a person would: the form's token, then the choice."""
    form = http.get("/login")
    found = re.search(r'name="demo_form" value="([^"]+)"', form.text)
    if form.status_code != 200 or found is None:
        raise SystemExit(f"no sign-in form: HTTP {form.status_code}")
    answer = http.post("/login", data={"email": ADMIN, "next": "/", "demo_form": found[1]})
    if answer.status_code != 303 or http.get("/").status_code != 200:
        raise SystemExit(f"the sign-in failed: HTTP {answer.status_code}")


class _Attributes(HTMLParser):
    """The attributes of every tile (`<section class="tile">`) and trend row (`<tr
    data-week>`), in the order of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tiles: list[dict[str, str]] = []
        self.weeks: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "section" and "tile" in found.get("class", "").split():
            self.tiles.append(found)
        elif tag == "tr" and "data-week" in found:
            self.weeks.append(found)


def _shown(page: str) -> _Attributes:
    parsed = _Attributes()
    parsed.feed(page)
    return parsed


@dataclass(frozen=True)
class Query:
    """One `/ignorerate` totals query: a period as a person types it, for one team."""

    period: str
    team: str


def page_queries(settings: Settings, team: str) -> list[Query]:
    """What a team's tile and trend show: the current period, the previous one, the
    trend's weeks (in the team's time zone, as the dashboard reads them)."""
    config = settings.team(team)
    if config is None:
        raise SystemExit(f"no team {team}")
    today = AS_OF.astimezone(config.timezone).date()
    before = previous_period(parse_period(DEFAULT_PERIOD, today), today)
    last_day = before.end_day - timedelta(days=1)
    weeks = trend_weeks(IsoWeek.of(today), TREND_WEEKS)
    return [
        Query(DEFAULT_PERIOD, team),
        Query(f"{before.first_day.isoformat()}..{last_day.isoformat()}", team),
        *(Query(str(w), team) for w in weeks),
    ]


def floor_of(
    engine: Engine, settings: Settings, queries: list[Query]
) -> Callable[[], list[Counts]]:
    def floor() -> list[Counts]:
        return [
            report(engine, settings, q.period, AS_OF, q.team, breakdowns=False).totals
            for q in queries
        ]

    return floor


@dataclass
class Timed:
    label: str
    path: str
    seconds: float
    floor_seconds: float | None
    floor_calls: int
    runs: int
    rows: int | None = None  # the CSV's
    first_byte: float = 0.0  # seconds to the first byte of the answer (median)


def _time_get(http: httpx.Client, path: str) -> tuple[float, float, bytes]:
    """Seconds to the whole answer, seconds to its first byte, and the answer."""
    start = time.perf_counter()
    with http.stream("GET", path) as answer:
        chunks = answer.iter_bytes()
        first = next(chunks, b"")
        first_byte = time.perf_counter() - start
        body = first + b"".join(chunks)
    seconds = time.perf_counter() - start
    if answer.status_code != 200:
        raise SystemExit(f"GET {path}: HTTP {answer.status_code} {body[:300]!r}")
    return seconds, first_byte, body


def measure(
    http: httpx.Client,
    path: str,
    floor: Callable[[], list[Counts]] | None,
    repeat: int,
    check: Callable[[bytes, list[Counts] | None], None],
) -> tuple[float, float, float | None]:
    """The page's median, its first byte's and its floor's, alternated: a warm-up of
    each, then `repeat`."""
    pages: list[float] = []
    firsts: list[float] = []
    floors: list[float] = []
    for n in range(repeat + 1):
        seconds, first_byte, body = _time_get(http, path)
        counts = None
        if floor is not None:
            start = time.perf_counter()
            counts = floor()
            floors.append(time.perf_counter() - start)
        check(body, counts)
        if n:
            pages.append(seconds)
            firsts.append(first_byte)
        elif floors:
            floors.clear()
    floor_median = statistics.median(floors) if floors else None
    return statistics.median(pages), statistics.median(firsts), floor_median


def _rate(value: str) -> float | None:
    return float(value) if value else None


def check_tiles(teams: list[str], per_team: int) -> Callable[[bytes, list[Counts] | None], None]:
    """Each tile's counts are its team's current period's, and each trend week's ignore
    rate its week's, from the floor (`per_team` queries a team, in page_queries' order)."""

    def check(body: bytes, counts: list[Counts] | None) -> None:
        assert counts is not None
        shown = _shown(body.decode("utf-8"))
        tiles = {t["data-team"]: t for t in shown.tiles}
        if sorted(tiles) != sorted(teams):
            raise SystemExit(f"tiles {sorted(tiles)} != {sorted(teams)}")
        weeks = iter(shown.weeks)
        for i, team in enumerate(teams):
            now = counts[i * per_team]
            tile = tiles[team]
            for key in ("handed_off", "excluded", "pending", "ignored", "on_time", "late"):
                if int(tile[f"data-{key.replace('_', '-')}"]) != getattr(now, key):
                    raise SystemExit(f"{team}: the tile's {key} is not the report's")
            for week in counts[i * per_team + 2 : (i + 1) * per_team]:
                row = next(weeks)
                if _rate(row["data-ignore-rate"]) != week.ignore_rate:
                    raise SystemExit(f"{team} {row['data-week']}: not the report's rate")

    return check


def _no_check(body: bytes, counts: list[Counts] | None) -> None:  # noqa: ARG001
    if not body:
        raise SystemExit("an empty page")


def _busiest(engine: Engine, settings: Settings) -> str:
    counts = {
        team.name: report(
            engine, settings, DEFAULT_PERIOD, AS_OF, team.name, breakdowns=False
        ).totals.handed_off
        for team in settings.teams
    }
    return max(counts, key=lambda name: (counts[name], name))


def _most_actions(engine: Engine) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT lead_id FROM actions GROUP BY lead_id ORDER BY count(*) DESC, lead_id")
        ).first()
    if found is None:
        raise SystemExit("no actions in the database")
    return int(found[0])


def run(backend: str, url: str, leads: int, repeat: int) -> list[Timed]:
    config = _config(leads)
    settings = parse_settings(config, "bench", {"DATABASE_URL": url})
    engine = make_engine(url)
    teams = [t.name for t in settings.teams]
    busiest = _busiest(engine, settings)
    lead_id = _most_actions(engine)
    overview_queries = [q for team in teams for q in page_queries(settings, team)]
    per_team = len(overview_queries) // len(teams)
    team_queries = page_queries(settings, busiest)
    list_queries = [Query(DEFAULT_PERIOD, team) for team in teams]
    csv_queries = [Query(CSV_PERIOD, busiest)]
    csv_rows: list[int] = []

    def check_csv(body: bytes, counts: list[Counts] | None) -> None:
        assert counts is not None
        lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        rows = len(lines) - 1  # the header
        if rows != counts[0].handed_off:
            raise SystemExit(f"the CSV has {rows} rows, the report {counts[0].handed_off}")
        csv_rows.append(rows)

    timed: list[Timed] = []
    pages: list[tuple[str, str, list[Query], Callable[[bytes, list[Counts] | None], None]]] = [
        ("the overview", "/", overview_queries, check_tiles(teams, per_team)),
        (
            f"a team's page ({busiest})",
            f"/teams/{busiest}",
            team_queries,
            check_tiles([busiest], per_team),
        ),
        ("the leads, first page", "/leads", list_queries, _no_check),
        ("one lead", f"/leads/{lead_id}", [], _no_check),
        (
            f"the leads' CSV ({busiest}, {CSV_PERIOD})",
            f"/leads.csv?team={busiest}&period={CSV_PERIOD}",
            csv_queries,
            check_csv,
        ),
    ]
    with (
        app_process(_serve_app, config, url) as base,
        httpx.Client(base_url=base, timeout=600) as http,
    ):
        sign_in(http)
        for label, path, queries, check in pages:
            floor = floor_of(engine, settings, queries) if queries else None
            seconds, first_byte, floor_seconds = measure(http, path, floor, repeat, check)
            rows = csv_rows[-1] if path.startswith("/leads.csv") else None
            timed.append(
                Timed(label, path, seconds, floor_seconds, len(queries), repeat, rows, first_byte)
            )
            print(f"# {backend} {path}: {seconds * 1000:.0f} ms", file=sys.stderr, flush=True)
    engine.dispose()
    return timed


def _figure(t: Timed) -> str:
    if t.rows is not None:  # a download: when it starts, and how fast it goes
        return (
            f"first byte {t.first_byte * 1000:.0f} ms; all {t.seconds * 1000:.0f} ms "
            f"({t.rows:,} rows, {t.rows / t.seconds:,.0f} rows/s)"
        )
    return f"{t.seconds * 1000:.0f} ms"


def _floor_text(t: Timed) -> str:
    if t.floor_seconds is None:
        return ""
    calls = "call" if t.floor_calls == 1 else "calls"
    return f"{t.floor_calls} /ignorerate totals {calls}, {t.floor_seconds * 1000:.0f} ms"


def summarise(summary: str | None, backend: str, leads: int, timed: list[Timed]) -> None:
    """The overview against its floor on both backends; every page's time on PostgreSQL
    (on SQLite only the overview has a target: the others are printed)."""
    name = BACKEND_NAMES[backend]
    for t in timed:
        ratio = None if t.floor_seconds is None else t.seconds / t.floor_seconds
        overview = t.path == "/"
        postgresql = backend == "postgresql"
        # a download is a page when its first byte comes: its length follows its rows
        waited = t.first_byte if t.rows is not None else t.seconds
        under = waited * 1000 < TARGET_MS
        if overview and ratio is not None:
            target = f"≤ {OVERVIEW_RATIO:g}x floor" + (f", < {TARGET_MS} ms" if postgresql else "")
            met = ratio <= OVERVIEW_RATIO and (under or not postgresql)
        elif postgresql:
            target = f"< {TARGET_MS} ms" + (" to the first byte" if t.rows is not None else "")
            met = under
        else:
            continue
        record(
            summary,
            Row(
                f"dashboard: {t.label}, GET {t.path.split('?')[0]}, {leads:,} leads",
                name,
                _figure(t),
                _floor_text(t),
                ratio,
                target,
                met,
                t.runs,
            ),
        )


def main() -> None:
    args = database_arguments(__doc__, repeat=5)
    print("| backend | page | median | floor | page / floor |")
    print("|---|---|---|---|---|")
    for backend, url in databases(args):
        timed = run(backend, url, args.leads, args.repeat)
        for t in timed:
            ratio = "—" if t.floor_seconds is None else f"{t.seconds / t.floor_seconds:.2f}x"
            print(
                f"| {backend} | GET {t.path} | {_figure(t)} | {_floor_text(t) or '—'} | {ratio} |"
            )
        summarise(args.summary, backend, args.leads, timed)


if __name__ == "__main__":
    main()

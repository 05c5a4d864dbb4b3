"""Benchmarks: import and report at scale, each beside a floor measured in the same run.

    python -m bench.run --leads 1000000 --backends sqlite,postgresql

- import: `ignorerate import leads|actions` run as a child process (the real CLI), timed,
  with its own peak memory (VmHWM), which is measured again at a tenth of the size
  (--rss-leads) to show that it does not follow the file. Floor: the rows the import
  stored (read back from the database: every column of each lead and of its owner-history
  row; of each action and of the owner-history rows of reassignments) written into
  scratch tables of the same column types with no keys, indexes or constraints, by
  `COPY` (binary, psycopg's `write_row`) on PostgreSQL and by `executemany` of plain
  INSERTs on SQLite, in one transaction, the values read off the clock; the median of
  --floor-repeat runs. The old floor is printed too: one `executemany` of three text
  columns of each lead. Beside it, the bound no import can beat: the floor plus a
  `REINDEX` of the tables the import writes (an import of actions writes the leads'
  summary columns too), for when that is over the target.
- report: `report last-month` across all teams (totals, per rep, per source, with medians),
  through the use case, median of --repeat runs. Floor: one hand-written SQL aggregate of
  the same counts (totals only, no medians), median of --repeat runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Column, Engine, MetaData, Table, create_engine, text
from sqlalchemy.engine import make_url

from bench.generate import Shape, write
from bench.summary import Row, record
from bot.app.reports import report
from bot.config import load_settings
from metrics.periods import parse_period
from metrics.rates import Counts
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import Base

AS_OF = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
PERIOD = "last-month"
# the tables each import writes: an import of actions moves the leads' summary columns
LEAD_TABLES = ["leads", "lead_owners"]
ACTION_TABLES = ["actions", "lead_owners", "leads"]
T = TypeVar("T")

FLOOR_SQL = """
SELECT count(*),
  sum(CASE WHEN excluded_at <= :t THEN 1 ELSE 0 END),
  sum(CASE WHEN (excluded_at IS NULL OR excluded_at > :t) AND first_action_at <= :t
           AND first_action_at <= due_at THEN 1 ELSE 0 END),
  sum(CASE WHEN (excluded_at IS NULL OR excluded_at > :t) AND first_action_at <= :t
           AND first_action_at > due_at THEN 1 ELSE 0 END),
  sum(CASE WHEN (excluded_at IS NULL OR excluded_at > :t)
           AND (first_action_at IS NULL OR first_action_at > :t) AND due_at > :t THEN 1 ELSE 0 END),
  sum(CASE WHEN (excluded_at IS NULL OR excluded_at > :t)
           AND (first_action_at IS NULL OR first_action_at > :t) AND due_at <= :t
           THEN 1 ELSE 0 END),
  sum(CASE WHEN (excluded_at IS NULL OR excluded_at > :t) AND first_action_at <= :t
           AND first_action_kind = 'rejected' THEN 1 ELSE 0 END)
FROM leads WHERE handed_off_at >= :s AND handed_off_at < :e AND handed_off_at <= :t
"""


def median_seconds(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


# Runs `python -m <module> <args>` and, at exit, writes the process's own peak RSS
# (VmHWM: the high-water mark of the memory it has had since exec) to a file.
_OWN_PEAK = """
import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(kib)
atexit.register(_peak)
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def _child(module: str, args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of `python -m <module> <args>` in a child process.

    The peak is the child's own VmHWM, not `getrusage(RUSAGE_CHILDREN).ru_maxrss`: Linux
    counts in a child's maxrss the memory of the parent it was forked from (kept across
    exec), so once this script had held a million floor rows every later import "peaked"
    at this script's size (the 734 MiB once reported for the PostgreSQL import)."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        start = time.perf_counter()
        subprocess.run(  # noqa: S603 (our own CLI)
            [sys.executable, "-c", _OWN_PEAK, module, *args],
            env={**env, "BENCH_PEAK_FILE": peak.name},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - start
        return seconds, int(peak.read())


def fresh_database(backend: str, workdir: Path, pg_url: str) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        path = workdir / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: None
    name = f"ignorerate_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(pg_url).set(database=name).render_as_string(hide_password=False), drop


def _bind_times(engine: Engine, start: datetime, end: datetime) -> dict[str, Any]:
    if engine.dialect.name == "sqlite":
        return {k: int(v.timestamp()) for k, v in (("s", start), ("e", end), ("t", AS_OF))}
    return {"s": start, "e": end, "t": AS_OF}


def report_floor(engine: Engine, start: datetime, end: datetime) -> Callable[[], tuple[int, ...]]:
    """The report's floor: `FLOOR_SQL` over the leads handed off in [start, end) as of
    AS_OF, as a function returning the seven counts in the order of `seven`."""
    binds = _bind_times(engine, start, end)

    def floor() -> tuple[int, ...]:
        with engine.connect() as conn:
            return tuple(int(v or 0) for v in conn.execute(text(FLOOR_SQL), binds).one())

    return floor


def seven(totals: Counts) -> tuple[int, ...]:
    """A report's counts in the order of `FLOOR_SQL`'s columns."""
    return (
        totals.handed_off,
        totals.excluded,
        totals.on_time,
        totals.late,
        totals.pending,
        totals.ignored,
        totals.rejected,
    )


def insert_floor(engine: Engine, rows: list[dict[str, str]]) -> float:
    """Seconds to write `rows` with one executemany of plain INSERTs into a scratch table
    of text columns: no checks, no keys. The floor of every write benchmark."""
    names = list(rows[0])
    columns = ", ".join(f"{n} TEXT" for n in names)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE floor_rows ({columns})"))
    start = time.perf_counter()
    with engine.begin() as conn:
        placeholders = ", ".join(f":{n}" for n in names)
        conn.execute(text(f"INSERT INTO floor_rows VALUES ({placeholders})"), rows)
    seconds = time.perf_counter() - start
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE floor_rows"))
    return seconds


FLOOR_CHUNK = 100_000  # rows read (off the clock) between two timed writes


def stored_rows_floor(engine: Engine, parts: list[tuple[str, str]]) -> float:
    """Seconds to write again the rows of each (table, condition) as they are stored, into
    scratch tables of the same column types with no keys, indexes or constraints: one
    binary `COPY` a chunk on PostgreSQL, `executemany` of plain INSERTs on SQLite, in one
    transaction. The rows are read in chunks with the clock stopped."""
    metadata = MetaData()
    scratch = {
        name: Table(
            f"floor_{name}",
            metadata,
            *(Column(c.name, c.type) for c in Base.metadata.tables[name].c),
        )
        for name, _ in parts
    }
    metadata.create_all(engine)
    postgresql = engine.dialect.name == "postgresql"
    seconds = 0.0
    try:
        with engine.connect() as reading, engine.connect() as writing:
            reader: Any = reading.connection.driver_connection
            writer: Any = writing.connection.driver_connection
            if not postgresql:
                writer.execute("BEGIN")
            for name, condition in parts:
                table = scratch[name]
                names = ", ".join(c.name for c in table.c)
                marks = ", ".join("?" for _ in table.c)
                types = (
                    [
                        oid
                        for (oid,) in writer.execute(
                            "SELECT atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
                            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                            [table.name],
                        )
                    ]
                    if postgresql
                    else []
                )
                cursor = reader.cursor(name="floor_rows") if postgresql else reader.cursor()
                cursor.execute(f"SELECT {names} FROM {name} WHERE {condition}")
                while rows := cursor.fetchmany(FLOOR_CHUNK):
                    start = time.perf_counter()
                    if postgresql:
                        with writer.cursor().copy(
                            f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
                        ) as copy:
                            copy.set_types(types)
                            for row in rows:
                                copy.write_row(row)
                    else:
                        writer.executemany(f"INSERT INTO {table.name} VALUES ({marks})", rows)
                    seconds += time.perf_counter() - start
                cursor.close()
                if postgresql:
                    reader.commit()
            start = time.perf_counter()
            writer.commit()
            seconds += time.perf_counter() - start
    finally:
        metadata.drop_all(engine)
    return seconds


def index_floor(engine: Engine, tables: list[str]) -> float:
    """Seconds to build again every index and key of `tables` as they stand (`REINDEX`):
    work the database must do for an import whatever the import does, and no part of
    the floor. (Unique keys included; foreign keys' checks not, so it is less than the
    import's rebuild.) The floor plus this is a bound no import can beat: when it is over
    3x the floor, that target cannot be met with these indexes."""
    postgresql = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        start = time.perf_counter()
        for table in tables:
            conn.exec_driver_sql(f"REINDEX TABLE {table}" if postgresql else f"REINDEX {table}")
        conn.commit()
        return time.perf_counter() - start


def _data(leads: int, out: Path) -> tuple[Path, Path, Path]:
    data = out / f"data-{leads}"
    if not (data / "actions.csv").exists():
        write(Shape(leads=leads), data)
    return data / "leads.csv", data / "actions.csv", data / "ignorerate.yml"


def import_peaks(backend: str, leads: int, pg_url: str, out: Path) -> tuple[int, int]:
    """Peak RSS (KiB) of the lead import and of the action import of the data of `leads`
    leads, into a fresh database."""
    leads_csv, actions_csv, config = _data(leads, out)
    url, drop = fresh_database(backend, out, pg_url)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        env = {**os.environ, "DATABASE_URL": url, "IGNORERATE_CONFIG": str(config)}
        _, rss_leads = _child("bot", ["import", "leads", str(leads_csv)], env)
        _, rss_actions = _child("bot", ["import", "actions", str(actions_csv)], env)
        return rss_leads, rss_actions
    finally:
        drop()


def pg_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )


def run(
    backend: str, leads: int, *, repeat: int, floor_repeat: int, pg_url: str, out: Path
) -> dict[str, Any]:
    leads_csv, actions_csv, config = _data(leads, out)
    url, drop = fresh_database(backend, out, pg_url)
    try:
        engine = make_engine(url)
        upgrade(engine)
        env = {**os.environ, "DATABASE_URL": url, "IGNORERATE_CONFIG": str(config)}
        lead_rows = sum(1 for _ in leads_csv.open(encoding="utf-8")) - 1
        action_rows = sum(1 for _ in actions_csv.open(encoding="utf-8")) - 1
        t_leads, rss_leads = _child("bot", ["import", "leads", str(leads_csv)], env)
        stored_leads = [("leads", "true"), ("lead_owners", "true")]
        floor_leads = statistics.median(
            stored_rows_floor(engine, stored_leads) for _ in range(floor_repeat)
        )
        indexes_leads = statistics.median(
            index_floor(engine, LEAD_TABLES) for _ in range(floor_repeat)
        )
        t_actions, rss_actions = _child("bot", ["import", "actions", str(actions_csv)], env)
        stored_actions = [("actions", "true"), ("lead_owners", "action_id IS NOT NULL")]
        floor_actions = statistics.median(
            stored_rows_floor(engine, stored_actions) for _ in range(floor_repeat)
        )
        with leads_csv.open(encoding="utf-8") as f:
            floor_rows = [
                {
                    "source": r["source"],
                    "external_id": r["external_id"],
                    "handed": r["handed_off_at"],
                }
                for r in csv.DictReader(f)
            ]
        floor_insert = insert_floor(engine, floor_rows)
        del floor_rows
        indexes_actions = statistics.median(
            index_floor(engine, ACTION_TABLES) for _ in range(floor_repeat)
        )
        with engine.begin() as conn:
            if backend == "postgresql":
                conn.execute(text("ANALYZE"))
            else:
                conn.exec_driver_sql("ANALYZE")
        settings = load_settings(config, env={"DATABASE_URL": url})
        start, end = parse_period(PERIOD, AS_OF.astimezone(settings.timezone).date()).bounds(
            settings.timezone
        )
        t_report, result = median_seconds(lambda: report(engine, settings, PERIOD, AS_OF), repeat)
        # what `/ignorerate last-month` without by: computes
        t_totals, totals_only = median_seconds(
            lambda: report(engine, settings, PERIOD, AS_OF, breakdowns=False), repeat
        )
        if totals_only.totals != result.totals:
            raise SystemExit("the totals-only report disagrees with the full one")
        t_floor, floor_row = median_seconds(report_floor(engine, start, end), repeat)
        totals = result.totals
        expected = seven(totals)
        if floor_row != expected:
            raise SystemExit(f"floor disagrees with the report: {floor_row} != {expected}")
        engine.dispose()
        return {
            "backend": backend,
            "leads": lead_rows,
            "actions": action_rows,
            "import_leads_s": round(t_leads, 2),
            "import_leads_per_s": round(lead_rows / t_leads),
            "floor_leads_s": round(floor_leads, 6),
            "leads_over_floor": round(t_leads / floor_leads, 2),
            "import_leads_peak_rss_mib": round(rss_leads / 1024),
            "indexes_leads_s": round(indexes_leads, 6),
            "indexes_leads_over_floor": round(indexes_leads / floor_leads, 2),
            "import_actions_s": round(t_actions, 2),
            "import_actions_per_s": round(action_rows / t_actions),
            "floor_actions_s": round(floor_actions, 6),
            "actions_over_floor": round(t_actions / floor_actions, 2),
            "import_actions_peak_rss_mib": round(rss_actions / 1024),
            "indexes_actions_s": round(indexes_actions, 6),
            "indexes_actions_over_floor": round(indexes_actions / floor_actions, 2),
            "old_floor_insert_leads_s": round(floor_insert, 2),
            "report_cohort": totals.handed_off,
            "report_s": round(t_report, 3),
            "floor_report_s": round(t_floor, 3),
            "report_over_floor": round(t_report / t_floor, 2),
            "totals_only_s": round(t_totals, 3),
            "totals_only_over_floor": round(t_totals / t_floor, 2),
        }
    finally:
        drop()


def _memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
FLOOR_NAMES = {"sqlite": "executemany", "postgresql": "COPY"}


def _summarise(summary: str | None, r: dict[str, Any], floor_repeat: int) -> None:
    """The import rows of `make bench`'s table: each import against its floor, and the
    peak memory at two sizes."""
    backend, floor = BACKEND_NAMES[r["backend"]], FLOOR_NAMES[r["backend"]]
    for kind, rows in (("leads", r["leads"]), ("actions", r["actions"])):
        seconds, floor_s = r[f"import_{kind}_s"], r[f"floor_{kind}_s"]
        record(
            summary,
            Row(
                f"CSV import of {rows:,} {kind} (CLI)",
                backend,
                f"{seconds:.1f} s ({rows / seconds:,.0f} rows/s)",
                f"{floor} of the stored rows {floor_s:.2f} s (median of {floor_repeat})",
                seconds / floor_s,
                "≤ 3x floor",
                seconds <= 3 * floor_s,
                1,  # an import of a million rows is run once
            ),
        )
        # the least any import can do: write the rows (the floor is the cheapest way) and
        # build the indexes and keys of the tables it writes
        bound = floor_s + r[f"indexes_{kind}_s"]
        tables = LEAD_TABLES if kind == "leads" else ACTION_TABLES
        record(
            summary,
            Row(
                f"… its bound: the floor plus REINDEX of {', '.join(tables)}",
                backend,
                f"{bound:.1f} s",
                f"{floor} of the stored rows {floor_s:.2f} s",
                bound / floor_s,
                "≤ 3x floor, or the import's 3x cannot be met",
                bound <= 3 * floor_s,
                floor_repeat,
            ),
        )
    if "small_leads" in r:
        small = max(r["small_leads_peak_rss_mib"], r["small_actions_peak_rss_mib"])
        large = max(r["import_leads_peak_rss_mib"], r["import_actions_peak_rss_mib"])
        record(
            summary,
            Row(
                f"CSV import peak RSS, {r['small_leads']:,} and {r['leads']:,} leads",
                backend,
                f"{small} MiB and {large} MiB",
                "",
                None,
                "constant: ≤ +10% at the larger size",
                large <= small * 1.1,
                1,
            ),
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--floor-repeat", type=int, default=3, help="runs of each floor")
    parser.add_argument(
        "--rss-leads",
        type=int,
        default=None,
        help="the imports' peak memory is measured again at this size (default: a tenth; "
        "0: not measured)",
    )
    pg_url_option(parser)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--summary", help="append the import rows to this file (bench.summary)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rss_leads = args.leads // 10 if args.rss_leads is None else args.rss_leads
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores, {_memory_gib():.0f} GiB memory"
    )
    results = []
    for backend in args.backends.split(","):
        result = run(
            backend,
            args.leads,
            repeat=args.repeat,
            floor_repeat=args.floor_repeat,
            pg_url=args.pg_url,
            out=args.out,
        )
        if rss_leads:
            small_leads, small_actions = import_peaks(backend, rss_leads, args.pg_url, args.out)
            result["small_leads"] = (
                sum(
                    1 for _ in (args.out / f"data-{rss_leads}" / "leads.csv").open(encoding="utf-8")
                )
                - 1
            )
            result["small_leads_peak_rss_mib"] = round(small_leads / 1024)
            result["small_actions_peak_rss_mib"] = round(small_actions / 1024)
        _summarise(args.summary, result, args.floor_repeat)
        results.append(result)
    keys = list(results[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in results:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")
    (args.out / f"results-{args.leads}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

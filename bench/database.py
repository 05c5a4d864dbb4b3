"""The large databases the end-to-end benchmarks read, built once and kept.

A database of N generated leads (`bench.generate`, the demo's generator) imported through
the real CLI takes minutes at a million leads, so it is kept and reused: a SQLite file
under the benchmark's --out and a PostgreSQL database on --pg-url's server, both named
after N, reused when they hold leads (then only brought to the newest schema).
`bench.command` and `bench.dashboard` share them.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bench.generate import Shape, write
from bench.run import _child, pg_url_option
from storage.engine import Engine, make_engine

if TYPE_CHECKING:
    from bot.serve import Service
from storage.migrate import upgrade


def short(leads: int) -> str:
    """1000000 as `1m`, 100000 as `100k`: the size in a database's name."""
    for size, suffix in ((1_000_000, "m"), (1_000, "k")):
        if leads >= size and leads % size == 0:
            return f"{leads // size}{suffix}"
    return str(leads)


def sqlite_url(out: Path, leads: int) -> str:
    return f"sqlite:///{(out / f'e2e-{leads}.db').resolve()}"


def has_leads(url: str) -> bool:
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("leads"):
            return False
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM leads LIMIT 1")).first() is not None
    finally:
        engine.dispose()


def postgresql_database(pg_url: str, name: str) -> str:
    """The URL of database `name` on pg_url's server, created if absent (never dropped)."""
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if found.first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False)


def postgresql_url(pg_url: str, leads: int) -> str:
    return postgresql_database(pg_url, f"bench_e2e_{short(leads)}")


def ensure_database(url: str, data: Path, leads: int) -> None:
    """Generates `leads` leads into `data` and imports them with the real CLI, unless the
    database at `url` holds leads already (then it is only brought to the newest schema)."""
    engine = make_engine(url)
    if has_leads(url):
        upgrade(engine)
        engine.dispose()
        return
    if not (data / "actions.csv").exists():
        write(Shape(leads=leads), data)
    upgrade(engine)
    env = {**os.environ, "DATABASE_URL": url, "IGNORERATE_CONFIG": str(data / "ignorerate.yml")}
    for kind in ("leads", "actions"):
        seconds, _ = _child("bot", ["import", kind, str(data / f"{kind}.csv")], env)
        print(f"# imported {kind} into {url} in {seconds:.0f} s", file=sys.stderr)
    settle(engine)
    engine.dispose()


def settle(engine: Engine) -> None:
    """After an import: the statistics, and on PostgreSQL the visibility map (`VACUUM`),
    which autovacuum sets on its own soon after a large insert and without which no
    scan is index-only."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_on(service: Service, port: int) -> None:
    """In an app's process (`app_process`): runs `service` as `serve` does, on a loopback
    port, until the process is stopped."""
    import uvicorn

    from bot.serve import process_tuning

    with process_tuning():
        service.start()
        try:
            uvicorn.run(service.app, host="127.0.0.1", port=port, log_level="warning")
        finally:
            service.stop()


@contextmanager
def app_process(target: Callable[..., None], *args: Any) -> Iterator[str]:
    """`target(*args, port)` in a process of its own (`spawn`), serving an app on a
    loopback port; yields its base URL once its `/healthz` answers."""
    port = free_port()
    process = get_context("spawn").Process(target=target, args=(*args, port), daemon=True)
    process.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not process.is_alive():
                raise SystemExit("the app did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.join(timeout=30)


def database_arguments(description: str | None, repeat: int) -> argparse.Namespace:
    """The options of a benchmark over kept databases (`--leads`, `--backends`,
    `--repeat`, an already built `--sqlite`/`--postgresql`, `--pg-url`, `--out`,
    `--summary`), parsed; `--out` exists afterwards."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--sqlite", help="an already built SQLite database URL")
    parser.add_argument("--postgresql", help="an already built PostgreSQL database URL")
    pg_url_option(parser)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--summary", help="append the results to this file (bench.summary)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def databases(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """(backend, URL) of each of `args.backends`, its database of `args.leads` leads
    built first where it is not yet (or the one named by --sqlite/--postgresql)."""
    data = (args.out / f"data-{args.leads}").resolve()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            url = args.sqlite or sqlite_url(args.out, args.leads)
        else:
            url = args.postgresql or postgresql_url(args.pg_url, args.leads)
        ensure_database(url, data, args.leads)
        yield backend, url

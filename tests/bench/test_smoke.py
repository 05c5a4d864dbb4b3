"""Every benchmark runs, as `make bench` and the docs run it (`python -m bench.X`), at a
tiny size: a benchmark that no longer starts, crashes on a fresh clone or stops writing its
row fails here rather than on the day someone measures. Each runs in a directory of its
own with nothing in it (no `bench/out`, no database built earlier), on SQLite and, where
the benchmark has one, on PostgreSQL. The figures are not checked: at this size they mean
nothing; that each benchmark prints them and appends its row is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.summary import Row
from tests.conftest import BACKENDS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def bench(module: str, *args: str, cwd: Path) -> str:
    """`python -m bench.<module> ARGS` in `cwd`, as a user runs it; its standard output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(  # noqa: S603 (our own benchmarks)
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"bench.{module} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


def rows(summary: Path, cwd: Path) -> list[Row]:
    """The rows a benchmark appended to `summary`, after bench.summary has printed them."""
    found = [Row(**json.loads(line)) for line in summary.read_text(encoding="utf-8").splitlines()]
    table = bench("summary", str(summary), cwd=cwd)
    for row in found:
        assert f"| {row.what} | {row.backend} | {row.figure} |" in table
    return found


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pg_server(backend: str, request: pytest.FixtureRequest) -> str:
    """A PostgreSQL URL the benchmarks may create scratch databases from ("" on SQLite)."""
    return str(request.getfixturevalue("pg_url")) if backend == "postgresql" else ""


@pytest.fixture
def empty_pg_database(pg_server: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own, dropped afterwards ("" on SQLite)."""
    if not pg_server:
        yield ""
        return
    name = f"ignorerate_bench_smoke_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_generate_writes_the_csvs_and_their_config(tmp_path: Path) -> None:
    out = bench("generate", "--leads", "50", cwd=tmp_path)
    data = tmp_path / "bench" / "out"
    assert out.split() == [
        "wrote",
        str(Path("bench/out/leads.csv")),
        str(Path("bench/out/actions.csv")),
        str(Path("bench/out/ignorerate.yml")),
    ]
    leads = (data / "leads.csv").read_text(encoding="utf-8").splitlines()
    assert len(leads) > 50  # a header, the leads and some sent twice


def test_run_imports_and_reports(tmp_path: Path, backend: str, pg_server: str) -> None:
    summary = tmp_path / "summary.jsonl"
    args = ["--leads", "200", "--repeat", "1", "--floor-repeat", "1", "--backends", backend]
    args += ["--summary", str(summary)]
    out = bench("run", *args, *(["--pg-url", pg_server] if pg_server else []), cwd=tmp_path)
    assert f"| {backend} | " in out
    (result,) = json.loads((tmp_path / "bench/out/results-200.json").read_text(encoding="utf-8"))
    assert result["backend"] == backend
    assert result["leads"] > 0
    assert result["report_cohort"] > 0
    assert result["floor_leads_s"] > 0
    assert result["small_leads"] > 0  # the peak memory measured at a tenth of the size too
    found = rows(summary, tmp_path)
    assert [r.what for r in found] == [
        f"CSV import of {result['leads']:,} leads (CLI)",
        "… its bound: the floor plus REINDEX of leads, lead_owners",
        f"CSV import of {result['actions']:,} actions (CLI)",
        "… its bound: the floor plus REINDEX of actions, lead_owners, leads",
        f"CSV import peak RSS, {result['small_leads']:,} and {result['leads']:,} leads",
    ]
    assert [r.target for r in (found[0], found[2])] == ["≤ 3x floor", "≤ 3x floor"]
    for kind, bound in (("leads", found[1]), ("actions", found[3])):
        # the bound is the floor and the indexes' rebuild, both measured
        assert result[f"indexes_{kind}_s"] > 0
        expected = (result[f"floor_{kind}_s"] + result[f"indexes_{kind}_s"]) / result[
            f"floor_{kind}_s"
        ]
        assert bound.ratio is not None
        assert abs(bound.ratio - expected) < 0.02 * expected


def test_command_builds_its_database_and_answers(
    tmp_path: Path, backend: str, empty_pg_database: str
) -> None:
    """The database is built from nothing: generated, then imported by the real CLI."""
    summary = tmp_path / "summary.jsonl"
    args = ["--leads", "200", "--repeat", "1", "--backends", backend, "--summary", str(summary)]
    if empty_pg_database:
        args += ["--postgresql", empty_pg_database]
    out = bench("command", *args, cwd=tmp_path)
    assert f"| {backend} | " in out
    if backend == "sqlite":
        assert (tmp_path / "bench/out/e2e-200.db").exists()
    (row,) = rows(summary, tmp_path)
    assert row.what == "/ignorerate last-month end to end, 200 leads"


def test_clicks(tmp_path: Path, backend: str, pg_server: str) -> None:
    summary = tmp_path / "summary.jsonl"
    database = pg_server or "sqlite"
    args = ["--clients", "2", "--rounds", "1", "--runs", "1", "--database", database]
    out = bench("clicks", *args, "--summary", str(summary), cwd=tmp_path)
    assert "| ours: answered first, work after a lull | 2 |" in out
    (row,) = rows(summary, tmp_path)
    assert row.what == "button click answered, 2 concurrent clients"


def test_webhook(tmp_path: Path, backend: str, pg_server: str) -> None:
    summary = tmp_path / "summary.jsonl"
    args = ["--batches", "1", "--clients", "1", "--repeat", "1", "--floor-repeat", "1"]
    args += ["--database", backend, "--summary", str(summary)]
    out = bench("webhook", *args, *(["--pg-url", pg_server] if pg_server else []), cwd=tmp_path)
    assert f"| {backend} | 500 | " in out
    found = rows(summary, tmp_path)
    # a floor of executemany, and on PostgreSQL one of COPY too
    assert len(found) == (2 if backend == "postgresql" else 1)


def test_sweep(tmp_path: Path, backend: str, pg_server: str) -> None:
    summary = tmp_path / "summary.jsonl"
    args = ["--open", "100", "--due", "10", "--repeat", "1", "--backends", backend]
    args += ["--summary", str(summary)]
    out = bench("sweep", *args, *(["--pg-url", pg_server] if pg_server else []), cwd=tmp_path)
    assert f"| {backend} | 100 | 10 | " in out
    assert f"| {backend} | 200 | 10 | " in out
    (row,) = rows(summary, tmp_path)
    assert row.what == "one SLA sweep, 100 open leads, 10 due"


def test_memory(tmp_path: Path) -> None:
    """SQLite only: the benchmark measures `serve` on its embedded default."""
    summary = tmp_path / "summary.jsonl"
    args = ["--minutes", "0.1", "--sample-seconds", "0.5", "--summary", str(summary)]
    out = bench("memory", *args, cwd=tmp_path)
    assert "| idle RSS | peak RSS, first half | peak RSS, second half | growth |" in out
    (row,) = rows(summary, tmp_path)
    assert row.what == "RSS of serve, idle and 0.1 min of steady load"


def test_crm_salesforce(tmp_path: Path, backend: str, pg_server: str) -> None:
    summary = tmp_path / "summary.jsonl"
    args = ["--records", "40", "--backends", backend, "--summary", str(summary)]
    out = bench(
        "crm_salesforce", *args, *(["--pg-url", pg_server] if pg_server else []), cwd=tmp_path
    )
    assert f"| {backend} | 40 | " in out
    paging, database = rows(summary, tmp_path)
    assert paging.what == "Salesforce sync, 40 changed records"
    assert database.what == "Salesforce sync, 40 changed records, beyond the paging"
    assert "20 leads and 20 actions" in database.floor


def test_crm_hubspot(tmp_path: Path, backend: str, pg_server: str) -> None:
    summary = tmp_path / "summary.jsonl"
    args = ["--records", "300", "--backend", backend, "--summary", str(summary)]
    out = bench("crm_hubspot", *args, *(["--pg-url", pg_server] if pg_server else []), cwd=tmp_path)
    assert "| 300 | " in out
    assert "recorded 150 leads and 150 calls" in out
    paging, database = rows(summary, tmp_path)
    assert paging.what == "HubSpot sync, 300 changed records"
    assert database.what == "HubSpot sync, 300 changed records, beyond the paging"
    assert "150 leads and 150 actions" in database.floor


def test_dashboard_builds_its_database_and_times_every_page(
    tmp_path: Path, backend: str, empty_pg_database: str
) -> None:
    """Signed in through the demo's form, every page is fetched and checked against the
    report; the overview has a row on both backends, every page on PostgreSQL."""
    summary = tmp_path / "summary.jsonl"
    args = ["--leads", "300", "--repeat", "1", "--backends", backend, "--summary", str(summary)]
    if empty_pg_database:
        args += ["--postgresql", empty_pg_database]
    out = bench("dashboard", *args, cwd=tmp_path)
    for path in ("/ ", "/teams/", "/leads ", "/leads/", "/leads.csv?team="):
        assert f"| {backend} | GET {path}" in out
    if backend == "sqlite":
        assert (tmp_path / "bench/out/e2e-300.db").exists()
    found = rows(summary, tmp_path)
    overview = found[0]
    assert overview.what == "dashboard: the overview, GET /, 300 leads"
    assert overview.floor.startswith("42 /ignorerate totals calls, ")
    assert overview.target.startswith("≤ 2x floor")
    if backend == "postgresql":
        assert len(found) == 5
        assert all(r.target.endswith("< 500 ms") for r in found[:-1])
        download = found[-1]
        assert download.target == "< 500 ms to the first byte"
        assert "first byte" in download.figure
        assert "rows/s" in download.figure
    else:
        assert found == [overview]

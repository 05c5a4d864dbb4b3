"""Fixtures shared by every test: real databases, on SQLite and on PostgreSQL.

PostgreSQL comes from TEST_DATABASE_URL (default: the local server, database `test`).
Each test session works in a database of its own, created and dropped here. Where
PostgreSQL cannot be reached, its tests are skipped with the reason, except under CI
(CI=true), where that is a failure: the production database is never silently untested.
Under CI=true any other skip fails too (tests/skip_policy.py).

A test whose subject is not the database (HTTP parsing, signatures, config, links, card
shapes...) but that needs one to run the bot is marked `one_backend`: it runs on SQLite
only. Every test about storage, reports, the outbox's claims, concurrency, imports'
writes or migrations runs on both.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import Base
from tests.skip_policy import (  # noqa: F401 (hooks, found by name)
    pytest_make_collect_report,
    pytest_runtest_makereport,
)

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile(
    "ci",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")
ONE_BACKEND = "sqlite"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"one_backend: the database is incidental to the test; run it on {ONE_BACKEND} only",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A `one_backend` test gets `database_url` on one backend, not on each: the mark
    becomes a parametrization of the fixture, which takes precedence over its params."""
    if "database_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "one_backend"
    ):
        metafunc.definition.add_marker(
            pytest.mark.parametrize("database_url", [ONE_BACKEND], indirect=True)
        )


def _pg_admin() -> Engine:
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:
        admin.dispose()
        message = f"PostgreSQL unreachable at {make_url(PG_URL).render_as_string()}: {err}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"ignorerate_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def reset(engine: Engine) -> None:
    """Empties every table (used between hypothesis examples)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 (names from our own metadata)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "ignorerate.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    reset(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()

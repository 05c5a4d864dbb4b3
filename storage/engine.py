"""Engines for the embedded default (SQLite file, WAL) and PostgreSQL."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# what the layers above pass around and catch, named here so that no module outside
# storage/ imports SQLAlchemy (an import-linter contract keeps it so)
__all__ = [
    "DEFAULT_URL",
    "Connection",
    "DatabaseError",
    "Engine",
    "begin_writing",
    "is_unavailable",
    "make_engine",
    "normalise_url",
    "ping",
    "redact_url",
    "sqlite_file",
    "writing",
]

DatabaseError = SQLAlchemyError


def is_unavailable(err: BaseException) -> bool:
    """The database is unreachable or every pooled connection stayed busy (a door answers
    503 and keeps nothing), as opposed to a fault in our own SQL (a 500)."""
    if isinstance(err, PoolTimeoutError):
        return True
    if isinstance(err, DBAPIError):
        return isinstance(err, OperationalError) or bool(err.connection_invalidated)
    return False


DEFAULT_URL = "sqlite:///ignorerate.db"


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 here (the only driver installed)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """The URL as it may be shown (a message, a log line): its password as `***`."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str = DEFAULT_URL, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (reports) run while the bot writes; NORMAL is durable across
    # application crashes in WAL mode, which is what an embedded default needs.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # the driver's own BEGIN is off: `_sqlite_begin` says which kind each transaction gets
    dbapi_connection.isolation_level = None


WRITES = "ignorerate_writes"


def writing(engine: Engine) -> AbstractContextManager[Connection]:
    """`engine.begin()` for a transaction that will write.

    On SQLite it starts with `BEGIN IMMEDIATE`, which takes the write lock up front
    (waiting for it under busy_timeout). A plain (deferred) transaction that reads and
    then writes fails at once with "database is locked" when another connection wrote in
    between (SQLITE_BUSY_SNAPSHOT in WAL mode: waiting cannot help, so SQLite does not
    wait). That failed one click in about 1,600 under 50 concurrent clicks. On PostgreSQL
    it is `engine.begin()`.
    """
    return engine.execution_options(**{WRITES: True}).begin()


def ping(engine: Engine) -> None:
    """Asks the database the cheapest question there is (`SELECT 1`): returns if it
    answers, raises if it cannot (what a health check reports)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def begin_writing(conn: Connection) -> RootTransaction:
    """`conn.begin()` for a transaction that will write, as `writing` starts it, for a
    caller that decides itself whether to commit (the scheduler's dry run rolls back)."""
    return conn.execution_options(**{WRITES: True}).begin()


def sqlite_file(engine: Engine) -> str | None:
    """The file of an SQLite database; None for PostgreSQL or an in-memory database."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return None if not database or database == ":memory:" else database


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(WRITES)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

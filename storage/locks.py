"""Locks that let one process at a time do a piece of work, however many replicas run.

A lock here lasts as long as the caller's transaction: it ends with the commit or the
rollback, so a process that dies mid-work leaves nothing held.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from storage.engine import sqlite_file

_TRY_XACT_LOCK = text("SELECT pg_try_advisory_xact_lock(:k)")


def try_transaction_lock(conn: Connection, key: int) -> bool:
    """Takes the lock named `key` (any bigint the deployment uses for nothing else) for the
    rest of the transaction `conn` is in; False: another transaction holds it, do nothing.

    PostgreSQL: `pg_try_advisory_xact_lock`, which never waits. SQLite: always True, as
    SQLite has one writer at a time (a writing transaction, `storage.engine.writing`,
    holds the database's write lock until it ends) and the caller keeps to one process per
    database file (the scheduler's file lock)."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(conn.execute(_TRY_XACT_LOCK, {"k": key}).scalar())


_TRY_SESSION_LOCK = text("SELECT pg_try_advisory_lock(:k)")
_UNLOCK = text("SELECT pg_advisory_unlock(:k)")


@contextmanager
def single_runner(engine: Engine, key: int, name: str) -> Iterator[bool]:
    """Holds the lock named `key` for the `with` block, which may span many transactions
    (a CRM sync writes page by page); yields False, at once, when another process holds
    it. A process that dies lets go of it: PostgreSQL ends a session's advisory locks with
    the session, and the kernel an flock with the process.

    PostgreSQL: `pg_try_advisory_lock` on a connection of its own. SQLite: an exclusive
    flock on `<database file>.<name>.lock`; an in-memory database is one process's."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(conn.execute(_TRY_SESSION_LOCK, {"k": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(_UNLOCK, {"k": key})
                    conn.commit()
        return
    database = sqlite_file(engine)
    if database is None:
        yield True
        return
    with Path(f"{database}.{name}.lock").open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

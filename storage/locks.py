"""Locks that let one process at a time do a piece of work, however many replicas run.

A lock here lasts as long as the caller's transaction: it ends with the commit or the
rollback, so a process that dies mid-work leaves nothing held.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

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

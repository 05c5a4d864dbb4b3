"""The transaction lock that lets one replica at a time run the minute tick: while one
transaction holds it, no other gets it, and it ends with the transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

from storage.engine import make_engine, writing
from storage.locks import try_transaction_lock

KEY = 0x7E57_10C


def _impatient(database_url: str) -> Engine:
    """An engine whose SQLite connections wait 50 ms, not 10 s, for the write lock."""
    engine = make_engine(database_url)
    if engine.dialect.name != "sqlite":
        return engine

    def short_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    event.listen(engine, "connect", short_wait)  # after make_engine's own pragmas
    return engine


def test_a_second_transaction_is_refused_while_the_first_holds_the_lock(
    engine: Engine, database_url: str
) -> None:
    other = _impatient(database_url)
    with writing(engine) as first:
        assert try_transaction_lock(first, KEY)
        if engine.dialect.name == "postgresql":
            with writing(other) as second:
                assert not try_transaction_lock(second, KEY)
                assert try_transaction_lock(second, KEY + 1)  # another lock is another
        else:
            # SQLite: the first writing transaction holds the database's one write lock,
            # so a second cannot even begin
            with pytest.raises(OperationalError, match="locked"), writing(other):
                pass
    with writing(other) as second:  # the first transaction ended: the lock with it
        assert try_transaction_lock(second, KEY)
    other.dispose()


def test_a_rolled_back_transaction_lets_go_of_the_lock(engine: Engine) -> None:
    with engine.connect() as conn:
        tx = conn.begin()
        assert try_transaction_lock(conn, KEY)
        tx.rollback()
    with writing(engine) as again:
        assert try_transaction_lock(again, KEY)


def test_a_single_runner_lock_is_held_for_its_block_only(database_url: str) -> None:
    """The CRM sync's lock spans many transactions: a second taker is refused at once
    while the first holds it (another process's flock or PostgreSQL session alike), and
    gets it after."""
    from storage.locks import single_runner

    first, second = make_engine(database_url), make_engine(database_url)
    try:
        with single_runner(first, KEY, "test") as mine:
            assert mine
            with single_runner(second, KEY, "test") as theirs:
                assert not theirs
            with single_runner(second, KEY + 1, "other") as another:
                assert another  # another lock is another
            with writing(first) as conn:  # transactions go on meanwhile
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        with single_runner(second, KEY, "test") as theirs:
            assert theirs
    finally:
        first.dispose()
        second.dispose()

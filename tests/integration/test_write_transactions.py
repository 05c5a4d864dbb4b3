"""Two transactions that each read and then write, interleaved: both land.

On SQLite a deferred transaction that read before another one committed a write cannot
write at all ("database is locked", SQLITE_BUSY_SNAPSHOT); `storage.engine.writing`
takes the write lock at BEGIN so the second waits instead. On PostgreSQL the row lock
orders them. Either way no update is lost and nobody gets an error.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from storage.engine import make_engine, writing


@pytest.fixture(params=["sqlite", "postgresql"])
def counter_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'counter.db'}")
    else:
        engine = make_engine(request.getfixturevalue("pg_url"))
    with writing(engine) as conn:
        conn.execute(text("DROP TABLE IF EXISTS write_counter"))
        conn.execute(text("CREATE TABLE write_counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO write_counter VALUES (1, 0)"))
    yield engine
    engine.dispose()


def _read(conn: Connection) -> int:
    query = "SELECT n FROM write_counter WHERE id = 1"
    if conn.dialect.name == "postgresql":
        query += " FOR UPDATE"
    return int(conn.execute(text(query)).scalar_one())


def _increment(conn: Connection) -> None:
    conn.execute(text("UPDATE write_counter SET n = :n WHERE id = 1"), {"n": _read(conn) + 1})


def test_interleaved_read_then_write_transactions_both_land(counter_engine: Engine) -> None:
    first_read = threading.Event()
    second_done = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with writing(counter_engine) as conn:
                conn.execute(text("SELECT n FROM write_counter")).scalar_one()
                first_read.set()
                # give the second every chance to write in between (it must wait instead)
                second_done.wait(timeout=0.5)
                _increment(conn)
        except BaseException as err:
            errors.append(err)
            first_read.set()

    def second() -> None:
        try:
            first_read.wait(timeout=10)
            with writing(counter_engine) as conn:
                _increment(conn)
        except BaseException as err:
            errors.append(err)
        finally:
            second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with counter_engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM write_counter")).scalar_one() == 2

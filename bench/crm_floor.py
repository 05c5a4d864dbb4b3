"""The database floor of a CRM sync benchmark: what the database takes to store the same
leads and actions with nothing of ours in the way.

After the sync, the rows it stored in `leads` and `actions` are read back (as the driver
gives them, before the clock starts) and written again, in one transaction, into scratch
tables of the same column types with no keys, indexes or constraints: one `COPY` a table
on PostgreSQL, one `executemany` of plain INSERTs a table on SQLite. The owner-history and
outbox rows the sync also stores are not in it: the floor is the lower for it, and a
ratio to it the stricter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Table

from storage.tables import Base

TABLES = ("leads", "actions")


@dataclass(frozen=True)
class DatabaseFloor:
    seconds: float
    rows: dict[str, int]  # table -> rows written
    copy: bool  # PostgreSQL's COPY (else one executemany)

    def describe(self) -> str:
        how = "one COPY" if self.copy else "one executemany"
        counts = " and ".join(f"{n:,} {table}" for table, n in self.rows.items())
        return f"{self.seconds:.2f} s ({counts}, {how} a table)"


def database_floor(engine: Engine, tables: tuple[str, ...] = TABLES) -> DatabaseFloor:
    """Seconds to write the rows of `tables` again into scratch copies of them (see the
    module's docstring); the scratch tables are dropped afterwards."""
    copy = engine.dialect.name == "postgresql"
    metadata = MetaData()
    work: list[tuple[str, list[str], list[Any]]] = []
    with engine.connect() as conn:
        for name in tables:
            table = Base.metadata.tables[name]
            names = [c.name for c in table.c]
            rows = conn.exec_driver_sql(f"SELECT {', '.join(names)} FROM {name}").all()
            Table(f"floor_{name}", metadata, *(Column(c.name, c.type) for c in table.c))
            work.append((f"floor_{name}", names, [tuple(r) for r in rows]))
    metadata.create_all(engine)
    try:
        start = time.perf_counter()
        with engine.begin() as conn:
            for name, names, rows in work:
                if not rows:
                    continue
                if copy:
                    raw: Any = conn.connection.driver_connection
                    with (
                        raw.cursor() as cursor,
                        cursor.copy(f"COPY {name} ({', '.join(names)}) FROM STDIN") as out,
                    ):
                        for row in rows:
                            out.write_row(row)
                else:
                    marks = ", ".join("?" for _ in names)
                    conn.exec_driver_sql(
                        f"INSERT INTO {name} ({', '.join(names)}) VALUES ({marks})",
                        rows,
                    )
        seconds = time.perf_counter() - start
    finally:
        metadata.drop_all(engine)
    counts = {table: len(rows) for table, (_, _, rows) in zip(tables, work, strict=True)}
    return DatabaseFloor(seconds, counts, copy)

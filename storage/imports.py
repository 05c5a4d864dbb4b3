"""A CSV import's rows on their way in: staged in a temporary table, checked there across
rows and against what is stored, then written by a few set-based statements.

The use case (`bot.app.imports`) reads the file once, checks each row and hands the good
ones here with what it computed for them (the SLA deadline and first reminder of a lead,
the idempotency key of an action). They go into a TEMP table of the import's own
connection: by `COPY` on PostgreSQL (binary, streamed while the file is still being
read, so that the server takes the rows on the other core), by `executemany` in chunks on
SQLite. The problems either side finds go into a second TEMP table, from which they are
reported in line order, counted, and matched to the lines of a rejects file, in constant
memory whatever their number.

Nothing outside the connection's temporary tables is written until `write`, which runs in
the caller's one transaction: the new reps, the leads (or actions) with `ON CONFLICT DO
NOTHING` on their natural keys, their owner-history rows, and (for actions) the leads'
summary columns in one UPDATE. A backfill (at least twice the rows the table holds) drops
the tables' indexes and keys first and builds them again after (`_Stage._rebuilding`). A
temporary table dies with its session, and a transaction's DDL with it, so an import
killed at any point leaves nothing behind.

`write` is the set-based twin of `repository.add_leads` and `add_actions`: the same rows,
keys and summary rules (`storage.action_rules`). tests/integration/test_import_set_based.py
holds the two paths equal on random data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Connection, MetaData, String, Table, bindparam, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.sql.expression import ColumnElement, TextClause

from metrics.model import ActionKind
from storage.action_rules import exclusion, qualifying
from storage.types import UtcTimestamp

# always named with their schema: a table of these names outside it is never touched
ROWS, PROBLEMS, NEW_ACTIONS = "import_rows", "import_problems", "import_new_actions"
PROBLEMS_HELD = 1000  # problems held in memory before they go to their table

# (column, PostgreSQL type, SQLite type) of each stage, in the order of the tuples given
LEAD_COLUMNS = (
    ("line", "int4", "INTEGER"),
    ("source", "text", "TEXT"),
    ("external_id", "text", "TEXT"),
    ("handed_off_at", "timestamptz", "INTEGER"),
    ("team", "text", "TEXT"),
    ("owner_email", "text", "TEXT"),
    ("name", "text", "TEXT"),
    ("company", "text", "TEXT"),
    ("email", "text", "TEXT"),
    ("campaign", "text", "TEXT"),
    ("due_at", "timestamptz", "INTEGER"),
    ("next_nudge_at", "timestamptz", "INTEGER"),
    ("nudge_stage", "text", "TEXT"),
    ("key_digest", "int8", "INTEGER"),  # of (source, external_id)
    ("content_digest", "int8", "INTEGER"),  # of everything else the lead says
)
ACTION_COLUMNS = (
    ("line", "int4", "INTEGER"),
    ("source", "text", "TEXT"),
    ("external_id", "text", "TEXT"),
    ("at", "timestamptz", "INTEGER"),
    ("at_text", "text", "TEXT"),  # as written in the file, for a message about it
    ("kind", "text", "TEXT"),
    ("channel", "text", "TEXT"),
    ("reason", "text", "TEXT"),
    ("excludes", "bool", "INTEGER"),
    ("actor_email", "text", "TEXT"),
    ("new_owner_email", "text", "TEXT"),
    ("idempotency_key", "text", "TEXT"),
    ("key_digest", "int8", "INTEGER"),  # of the idempotency key
)

LeadRow = tuple[
    int,  # line
    str,  # source
    str,  # external_id
    datetime,  # handed_off_at
    str,  # team (its name)
    str | None,  # owner_email
    str | None,  # name
    str | None,  # company
    str | None,  # email
    str | None,  # campaign
    datetime,  # due_at
    datetime | None,  # next_nudge_at
    str | None,  # nudge_stage
    int,  # key_digest
    int,  # content_digest
]
ActionRow = tuple[
    int,  # line
    str,  # source
    str,  # external_id
    datetime,  # at
    str,  # at_text
    str,  # kind
    str | None,  # channel
    str | None,  # reason (its code when the catalog knows it)
    bool,  # excludes
    str | None,  # actor_email
    str | None,  # new_owner_email
    str,  # idempotency_key
    int,  # key_digest
]


def _seconds(moment: datetime | None) -> int | None:
    """What `UtcTimestamp` stores on SQLite: Unix seconds, the fraction dropped."""
    return None if moment is None else int(moment.timestamp())


class _Stage:
    """The temporary tables of one import on one connection."""

    columns: tuple[tuple[str, str, str], ...]
    times: tuple[int, ...]  # positions of the instants in a row

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgresql = conn.dialect.name == "postgresql"
        schema = "pg_temp" if self.postgresql else "temp"
        self.rows, self.problems_table, self.new_actions = (
            f"{schema}.{name}" for name in (ROWS, PROBLEMS, NEW_ACTIONS)
        )
        self.driver: Any = conn.connection.driver_connection
        self.staged = 0
        self.problems: list[tuple[int, int, str, str]] = []
        self.seq = 0
        self._copy: Any = None  # PostgreSQL: the COPY being written, and its context
        self._copy_context: Any = None
        self._analyzed = False
        self.drop()
        temporary = "TEMPORARY" if self.postgresql else "TEMP"
        names = ", ".join(
            f"{name} {pg if self.postgresql else lite}" for name, pg, lite in self.columns
        )
        self._sql(f"CREATE {temporary} TABLE {self.rows} ({names})")
        self._sql(
            f"CREATE {temporary} TABLE {self.problems_table} (line INTEGER NOT NULL, "
            "seq INTEGER NOT NULL, col TEXT NOT NULL, message TEXT NOT NULL)"
        )

    def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Good rows, each in the order of `columns` (a `LeadRow` or an `ActionRow`)."""
        if not rows:
            return
        if self.postgresql:
            with self._driver_errors("COPY"):
                copy = self._copy or self._start_copy()
                for row in rows:
                    copy.write_row(row)
        else:
            times = self.times
            converted = []
            for row in rows:
                values = list(row)
                for i in times:
                    values[i] = _seconds(values[i])
                converted.append(values)
            insert = f"INSERT INTO {self.rows} VALUES ({', '.join('?' for _ in self.columns)})"  # noqa: S608 (our own names)
            with self._driver_errors(insert):
                self.driver.cursor().executemany(insert, converted)
        self.staged += len(rows)

    def problem(self, line: int, column: str, message: str) -> None:
        """A problem with a line, reported in line order with the others by `report`."""
        self.seq += 1
        self.problems.append((line, self.seq, column, message))
        if len(self.problems) >= PROBLEMS_HELD:
            self._flush_problems()

    def finish(self) -> None:
        """Every row and problem given so far is in its table."""
        self._end_copy()
        self._flush_problems()
        if self.postgresql and not self._analyzed:  # autovacuum skips temporary tables
            self._sql(f"ANALYZE {self.rows}")
            self._analyzed = True

    def abandon(self, error: BaseException) -> None:
        """The reading failed: a COPY under way is given up (the caller rolls back)."""
        self.problems.clear()
        with suppress(SQLAlchemyError):  # what the COPY says of it adds nothing to `error`
            self._end_copy(error)

    @contextmanager
    def _driver_errors(self, statement: str) -> Iterator[None]:
        """The driver's own errors (a COPY, an executemany on its cursor) as SQLAlchemy's,
        which the use case catches like those of every other statement."""
        dbapi: Any = self.conn.dialect.dbapi
        try:
            yield
        except dbapi.Error as err:
            raise DBAPIError.instance(statement, None, err, dbapi.Error) from err

    def _start_copy(self) -> Any:
        names = ", ".join(name for name, _, _ in self.columns)
        self._copy_context = self.driver.cursor().copy(
            f"COPY {self.rows} ({names}) FROM STDIN (FORMAT BINARY)"
        )
        self._copy = self._copy_context.__enter__()
        self._copy.set_types([pg for _, pg, _ in self.columns])
        return self._copy

    def _end_copy(self, error: BaseException | None = None) -> None:
        context, self._copy, self._copy_context = self._copy_context, None, None
        if context is not None:
            with self._driver_errors("COPY"):
                context.__exit__(type(error) if error else None, error, None)

    def _flush_problems(self) -> None:
        if not self.problems:
            return
        self._end_copy()  # one statement at a time on a connection
        mark = "%s" if self.postgresql else "?"
        insert = (
            f"INSERT INTO {self.problems_table} (line, seq, col, message) "  # noqa: S608
            f"VALUES ({mark}, {mark}, {mark}, {mark})"
        )
        with self._driver_errors(insert):
            self.driver.cursor().executemany(insert, self.problems)
        self.problems.clear()

    def _sql(self, sql: str) -> None:
        self.conn.exec_driver_sql(sql)

    def report(self) -> Iterator[tuple[int, str, str]]:
        """Every problem as (line, column, message), in line order (then as found)."""
        rows = self._stream(
            f"SELECT line, col, message FROM {self.problems_table} ORDER BY line, seq"  # noqa: S608
        )
        for line, column, message in rows:
            yield int(line), str(column), str(message)

    def bad_lines(self) -> int:
        sql = f"SELECT count(DISTINCT line) FROM {self.problems_table}"  # noqa: S608
        return int(self.conn.exec_driver_sql(sql).scalar_one())

    def set_aside_bad(self) -> int:
        """Takes the staged rows that have a problem out of the write; returns how many
        rows are left to write."""
        removed = self.conn.exec_driver_sql(
            f"DELETE FROM {self.rows} WHERE line IN (SELECT line FROM {self.problems_table})"  # noqa: S608
        ).rowcount
        self.staged -= removed
        return self.staged

    def drop(self) -> None:
        for table in (self.rows, self.problems_table, self.new_actions):
            self._sql(f"DROP TABLE IF EXISTS {table}")

    def _ensure_reps(self, email_columns: Sequence[str], now: datetime) -> None:
        """`repository.ensure_reps` for every email in these columns of the stage."""
        emails = " UNION ".join(
            f"SELECT {c} AS email FROM {self.rows} WHERE {c} IS NOT NULL"  # noqa: S608
            for c in email_columns
        )
        self._execute(
            f"INSERT INTO reps (email, created_at, away) "  # noqa: S608
            f"SELECT DISTINCT email, :now, false FROM ({emails}) AS e WHERE true ORDER BY email "
            "ON CONFLICT (email) DO NOTHING",
            now=now,
        )

    def _execute(self, sql: str, **params: Any) -> Any:
        clause: TextClause = text(sql)
        if "now" in params:
            clause = clause.bindparams(bindparam("now", type_=UtcTimestamp()))
        return self.conn.execute(clause, params)

    def _highest_id(self, table: str) -> int:
        sql = f"SELECT coalesce(max(id), 0) FROM {table}"  # noqa: S608 (our own names)
        return int(self.conn.exec_driver_sql(sql).scalar_one())

    def _stream(self, sql: str) -> Any:
        """The rows of a query, fetched a thousand at a time."""
        return self.conn.exec_driver_sql(
            sql, execution_options={"stream_results": True, "yield_per": 1000}
        )

    def _is_backfill(self, table: str) -> bool:
        """The staged rows are at least twice as many as `table` holds (a first load, or
        one that dwarfs what is there): then its indexes and keys are rebuilt rather than
        kept up row by row (`_rebuilding`). Counts no further than it needs to."""
        held = self.staged // 2 + 1
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT {held}) AS held"  # noqa: S608
        return self.staged > 0 and int(self.conn.exec_driver_sql(sql).scalar_one()) < held

    @contextmanager
    def _rebuilding(self, tables: Sequence[str], *, backfill: bool) -> Iterator[bool]:
        """A backfill (`backfill`) loads `tables` as PostgreSQL's manual advises for a bulk
        load: their indexes, unique keys and foreign keys (all but the primary keys) are
        dropped, the rows written, then each index built and each key checked in one
        pass, in the import's transaction. Kept up row by row they cost many times the
        rows themselves (a million leads on the benchmark's machine: 4 s for the bare
        rows, 14 s with the unique key, 56 s with every index, 87 s with the foreign
        keys). Until the import commits, those tables and the ones their keys refer to
        are the import's alone: other work on them waits. Yields whether the unique keys
        are gone (then the caller finds the duplicates itself).

        On SQLite only the indexes a table does not declare go (its unique and foreign
        keys are part of it); readers keep their snapshot meanwhile."""
        if not backfill:
            yield False
            return
        if self.postgresql:
            found = self._execute(
                """
                SELECT 1 AS step, k.conname, CAST(k.conrelid AS regclass)::text,
                       pg_get_constraintdef(k.oid)
                FROM pg_constraint k
                WHERE k.contype = 'u' AND k.conrelid = ANY(CAST(:tables AS regclass[]))
                UNION ALL
                SELECT 2, c.relname, NULL, pg_get_indexdef(i.indexrelid)
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                WHERE i.indrelid = ANY(CAST(:tables AS regclass[]))
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                UNION ALL
                SELECT 3, k.conname, CAST(k.conrelid AS regclass)::text,
                       pg_get_constraintdef(k.oid)
                FROM pg_constraint k
                WHERE k.contype = 'f' AND k.conrelid = ANY(CAST(:tables AS regclass[]))
                ORDER BY 1, 2
                """,
                tables=list(tables),
            ).all()
            referred = self._execute(
                "SELECT DISTINCT CAST(confrelid AS regclass)::text FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid = ANY(CAST(:tables AS regclass[]))",
                tables=list(tables),
            ).scalars()
            locked = sorted({*tables, *referred})
            self._sql(f"LOCK TABLE {', '.join(locked)} IN ACCESS EXCLUSIVE MODE")
            self._sql("SET LOCAL maintenance_work_mem = '256MB'")
            for _, name, table, _ in reversed(found):  # the foreign keys first
                if table is None:
                    self._sql(f'DROP INDEX "{name}"')
                else:
                    self._sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            yield True
            for _, name, table, definition in found:
                if table is None:
                    self._sql(definition)
                else:
                    self._sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            return
        names = ", ".join(f"'{t}'" for t in tables)
        indexes = self.conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "  # noqa: S608
            f"AND tbl_name IN ({names}) AND sql IS NOT NULL"
        ).all()
        for name, _ in indexes:
            self._sql(f'DROP INDEX "{name}"')
        yield False
        for _, definition in indexes:
            self._sql(definition)

    def _roomy(self) -> None:
        """PostgreSQL: the write's sorts and hashes of every staged row in memory, where
        the default (4 MB) sends them to disk; for this transaction only."""
        if self.postgresql:
            self._sql("SET LOCAL work_mem = '256MB'")

    def _keep_first_of_each(self, key: Sequence[str]) -> None:
        """Without unique keys (a backfill on PostgreSQL): the staged rows whose key an
        earlier line has already go, as `ON CONFLICT DO NOTHING` would skip them. Only
        the keys whose digest is staged more than once are looked at."""
        columns = ", ".join(key)
        same = " AND ".join(f"s.{c} = d.{c}" for c in key)
        self._sql(
            f"""
            DELETE FROM {self.rows} s USING (
                SELECT {columns}, min(line) AS first FROM {self.rows}
                WHERE key_digest IN (
                    SELECT key_digest FROM {self.rows} GROUP BY key_digest HAVING count(*) > 1
                )
                GROUP BY {columns}
            ) d
            WHERE {same} AND s.line > d.first
            """  # noqa: S608 (our own names)
        )

    def _truncated(self, column: str) -> str:
        """A staged instant as `UtcTimestamp` keeps it: to the whole second."""
        return f"date_trunc('second', {column})" if self.postgresql else column


class LeadStage(_Stage):
    columns = LEAD_COLUMNS
    times = (3, 10, 11)

    def conflicts(self) -> Iterator[tuple[str, str, int]]:
        """(source, external_id, line) of every staged row whose key is staged again
        with different data, by key then line."""
        rows = self._stream(
            f"""
            SELECT s.source, s.external_id, s.line FROM {self.rows} s
            JOIN (
                SELECT source, external_id FROM {self.rows}
                WHERE key_digest IN (
                    SELECT key_digest FROM {self.rows} GROUP BY key_digest
                    HAVING count(DISTINCT content_digest) > 1
                )
                GROUP BY source, external_id HAVING count(DISTINCT content_digest) > 1
            ) twice ON twice.source = s.source AND twice.external_id = s.external_id
            ORDER BY s.source, s.external_id, s.line
            """  # noqa: S608 (our own names)
        )
        for source, external_id, line in rows:
            yield str(source), str(external_id), int(line)

    def write(self, now: datetime) -> int:
        """Inserts the staged leads whose (source, external_id) is new, each with its
        first owner-history row, the missing reps first. The teams must exist. Returns
        how many leads were added; a key already stored, or staged twice, is added once."""
        self._roomy()
        self._ensure_reps(["owner_email"], now)
        backfill = self._is_backfill("leads")
        with self._rebuilding(["leads", "lead_owners"], backfill=backfill) as keyless:
            t = self._truncated
            rows = self.rows
            if keyless:  # the first row of each key, and none already stored
                self._keep_first_of_each(["source", "external_id"])
                rows = f"""(
                    SELECT * FROM {self.rows} s WHERE NOT EXISTS (
                        SELECT 1 FROM leads l
                        WHERE l.source = s.source AND l.external_id = s.external_id
                    )
                )"""  # noqa: S608 (our own names)
            insert = f"""
                INSERT INTO leads (source, external_id, team_id, handed_off_at, due_at, name,
                                   company, email, campaign, initial_owner_id, owner_id,
                                   created_at, next_nudge_at, nudge_stage, nudge_cycle)
                SELECT s.source, s.external_id, t.id, {t("s.handed_off_at")}, {t("s.due_at")},
                       s.name, s.company, s.email, s.campaign, r.id, r.id, :now,
                       {t("s.next_nudge_at")}, s.nudge_stage, 0
                FROM {rows} s
                LEFT JOIN teams t ON t.name = s.team
                LEFT JOIN reps r ON r.email = s.owner_email
                WHERE true
                {"" if keyless else "ON CONFLICT (source, external_id) DO NOTHING"}
            """  # noqa: S608 (our own names)
            if self.postgresql:
                return int(
                    self._execute(
                        f"""
                        WITH new AS ({insert} RETURNING id, owner_id, handed_off_at)
                        INSERT INTO lead_owners (lead_id, rep_id, since)
                        SELECT id, owner_id, handed_off_at FROM new
                        """,  # noqa: S608 (our own names)
                        now=now,
                    ).rowcount
                )
            # SQLite: the write lock is held (BEGIN IMMEDIATE): the new ids are the highest
            before = self._highest_id("leads")
            added = int(self._execute(insert, now=now).rowcount)
            self._execute(
                "INSERT INTO lead_owners (lead_id, rep_id, since) "
                "SELECT id, owner_id, handed_off_at FROM leads WHERE id > :before ORDER BY id",
                before=before,
            )
            return added


class ActionStage(_Stage):
    columns = ACTION_COLUMNS
    times = (3,)

    def without_lead(self) -> Iterator[tuple[int, str, str, str, datetime | None]]:
        """(line, source, external_id, at as written, the lead's handoff) of each staged
        action whose lead is not stored (handoff None) or was handed off after it, in
        line order: `bot.app.actions.check_actions`'s question, asked of every row."""
        query = text(
            f"""
            SELECT s.line, s.source, s.external_id, s.at_text, l.handed_off_at AS handed
            FROM {self.rows} s
            LEFT JOIN leads l ON l.source = s.source AND l.external_id = s.external_id
            WHERE l.id IS NULL OR {self._truncated("s.at")} < l.handed_off_at
            ORDER BY s.line
            """  # noqa: S608 (our own names)
        ).columns(handed=UtcTimestamp())
        rows = self.conn.execute(
            query, execution_options={"stream_results": True, "yield_per": 1000}
        )
        for line, source, external_id, at_text, handed_off_at in rows:
            yield int(line), str(source), str(external_id), str(at_text), handed_off_at

    def write(self, now: datetime, via: str) -> int:
        """Appends the staged actions whose idempotency key is new (the first of a key
        staged twice), with an owner-history row for each reassignment, the missing reps
        first; then moves the touched leads' summary columns as `add_actions` does.
        Returns how many actions were added."""
        self._roomy()
        self._ensure_reps(["actor_email", "new_owner_email"], now)
        reassigned = ActionKind.REASSIGNED.value
        # a backfill of actions moves most leads' summary columns too
        backfill = self._is_backfill("actions")
        tables = ["actions", "lead_owners", *(["leads"] if backfill else [])]
        with self._rebuilding(tables, backfill=backfill) as keyless:
            rows = self.rows
            if keyless:  # the first row of each key, and none already stored
                self._keep_first_of_each(["idempotency_key"])
                rows = f"""(
                    SELECT * FROM {self.rows} s WHERE NOT EXISTS (
                        SELECT 1 FROM actions a WHERE a.idempotency_key = s.idempotency_key
                    )
                )"""  # noqa: S608 (our own names)
            # in line order: on equal times the earlier line is the earlier action
            insert = f"""
                INSERT INTO actions (lead_id, at, kind, channel, reason, excludes, actor_id,
                                     new_owner_id, via, idempotency_key, recorded_at)
                SELECT l.id, {self._truncated("s.at")}, s.kind, s.channel, s.reason,
                       s.excludes, a.id, o.id, :via, s.idempotency_key, :now
                FROM {rows} s
                JOIN leads l ON l.source = s.source AND l.external_id = s.external_id
                LEFT JOIN reps a ON a.email = s.actor_email
                LEFT JOIN reps o ON o.email = s.new_owner_email
                WHERE true
                ORDER BY s.line
                {"" if keyless else "ON CONFLICT (idempotency_key) DO NOTHING"}
            """  # noqa: S608 (our own names)
            if self.postgresql:
                self._sql(
                    f"CREATE TEMPORARY TABLE {self.new_actions} (id bigint, lead_id bigint, "
                    "at timestamptz, kind text, channel text, excludes bool)"
                )
                added = int(
                    self._execute(
                        f"""
                        WITH new AS (
                            {insert}
                            RETURNING id, lead_id, at, kind, channel, excludes, new_owner_id
                        ), owners AS (
                            INSERT INTO lead_owners (lead_id, rep_id, since, action_id)
                            SELECT lead_id, new_owner_id, at, id FROM new
                            WHERE kind = '{reassigned}' ORDER BY id
                        )
                        INSERT INTO {self.new_actions}
                        SELECT id, lead_id, at, kind, channel, excludes FROM new
                        """,  # noqa: S608 (our own names)
                        now=now,
                        via=via,
                    ).rowcount
                )
                self._sql(f"ANALYZE {self.new_actions}")
                self._update_summaries(self.new_actions, {})
                return added
            # SQLite: the write lock is held (BEGIN IMMEDIATE): the new ids are the highest
            before = self._highest_id("actions")
            added = int(self._execute(insert, now=now, via=via).rowcount)
            self._execute(
                "INSERT INTO lead_owners (lead_id, rep_id, since, action_id) "  # noqa: S608
                "SELECT lead_id, new_owner_id, at, id FROM actions "
                f"WHERE id > :before AND kind = '{reassigned}' ORDER BY id",
                before=before,
            )
            new = (
                "(SELECT id, lead_id, at, kind, channel, excludes FROM actions WHERE id > :before)"
            )
            self._update_summaries(new, {"before": before})
            return added

    def _update_summaries(self, new: str, params: dict[str, Any]) -> None:
        """`repository._apply_summaries` for the actions in `new` (a table or a subquery
        of id, lead_id, at, kind, channel, excludes), one UPDATE of each touched lead:
        the earliest qualifying action (on equal times the lower id), exclusion and
        reassignment when earlier than what is stored, and the owner from the history."""
        rules = Table(
            "n", MetaData(), Column("kind", String), Column("excludes", Boolean), Column("at")
        )
        qualifies = self._rule(qualifying(rules))
        excludes = self._rule(exclusion(rules))
        reassigned = ActionKind.REASSIGNED.value
        earlier = {
            column: f"(u.{new_col} IS NOT NULL AND "
            f"(leads.{column} IS NULL OR leads.{column} > u.{new_col}))"
            for column, new_col in (
                ("first_action_at", "f_at"),
                ("excluded_at", "x_at"),
                ("reassigned_at", "r_at"),
            )
        }
        first = earlier["first_action_at"]
        self._execute(
            f"""
            UPDATE leads SET
                first_action_at = CASE WHEN {first} THEN u.f_at ELSE leads.first_action_at END,
                first_action_kind =
                    CASE WHEN {first} THEN u.f_kind ELSE leads.first_action_kind END,
                first_action_channel =
                    CASE WHEN {first} THEN u.f_channel ELSE leads.first_action_channel END,
                excluded_at = CASE WHEN {earlier["excluded_at"]} THEN u.x_at
                                   ELSE leads.excluded_at END,
                reassigned_at = CASE WHEN {earlier["reassigned_at"]} THEN u.r_at
                                     ELSE leads.reassigned_at END,
                owner_id = CASE WHEN u.r_at IS NULL THEN leads.owner_id ELSE u.owner_id END
            FROM (
                SELECT g.lead_id, g.x_at, g.r_at,
                       f.at AS f_at, f.kind AS f_kind, f.channel AS f_channel, w.owner_id
                FROM (
                    SELECT n.lead_id,
                           min(CASE WHEN {excludes} THEN n.at END) AS x_at,
                           min(CASE WHEN n.kind = '{reassigned}' THEN n.at END) AS r_at
                    FROM {new} n GROUP BY n.lead_id
                ) g
                LEFT JOIN (
                    SELECT q.lead_id, q.at, q.kind, q.channel FROM (
                        SELECT n.lead_id, n.at, n.kind, n.channel,
                               row_number() OVER (PARTITION BY n.lead_id
                                                  ORDER BY n.at, n.id) AS nth
                        FROM {new} n WHERE {qualifies}
                    ) q WHERE q.nth = 1
                ) f ON f.lead_id = g.lead_id
                LEFT JOIN (
                    SELECT q.lead_id, q.rep_id AS owner_id FROM (
                        SELECT o.lead_id, o.rep_id,
                               row_number() OVER (PARTITION BY o.lead_id
                                                  ORDER BY o.since DESC, o.id DESC) AS nth
                        FROM lead_owners o
                        WHERE o.lead_id IN (
                            SELECT n.lead_id FROM {new} n WHERE n.kind = '{reassigned}'
                        )
                    ) q WHERE q.nth = 1
                ) w ON w.lead_id = g.lead_id
            ) u
            WHERE leads.id = u.lead_id
              AND ({first} OR {earlier["excluded_at"]} OR u.r_at IS NOT NULL)
            """,  # noqa: S608 (our own names and rules)
            **params,
        )

    def _rule(self, rule: ColumnElement[bool]) -> str:
        return str(rule.compile(dialect=self.conn.dialect, compile_kwargs={"literal_binds": True}))

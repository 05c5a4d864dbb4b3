"""Column types and SQL helpers that mean the same thing on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcTimestamp(TypeDecorator[datetime]):
    """An instant, kept to the whole second in UTC.

    PostgreSQL stores `timestamptz`. SQLite has no time type, so it gets integer Unix
    seconds: comparisons are integer comparisons and differences are exact, which keeps
    the SQL medians identical to the Python ones. Aware datetimes only: a naive one is
    a bug upstream, so it is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: an instant needs its offset")
        utc = value.astimezone(UTC).replace(microsecond=0)
        if dialect.name == "sqlite":
            return int(utc.timestamp())
        return utc

    def process_result_value(
        self,
        value: Any,
        dialect: Dialect,  # noqa: ARG002 (SQLAlchemy's signature; the value's type tells enough)
    ) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return datetime.fromtimestamp(int(value), UTC)


def truncate_to_second(moment: datetime) -> datetime:
    """What the database will keep of `moment` (aware, UTC)."""
    return moment.astimezone(UTC).replace(microsecond=0)


class seconds_between(FunctionElement[int]):  # noqa: N801 (SQL functions read lower-case)
    """`later - earlier` in whole seconds, as an integer."""

    type = BigInteger()
    inherit_cache = True

    def __init__(self, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> None:
        super().__init__(later, earlier)


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"CAST(EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - "
        f"{compiler.process(earlier, **kw)})) AS BIGINT)"
    )


class least(FunctionElement[datetime]):  # noqa: N801 (SQL functions read lower-case)
    """The smaller of non-null values: `least()` on PostgreSQL, scalar `min()` on SQLite."""

    inherit_cache = True

    def __init__(self, *args: ColumnElement[Any]) -> None:
        super().__init__(*args)
        self.type = UtcTimestamp()


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(least, "postgresql")
def _least_pg(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"least({compiler.process(element.clauses, **kw)})"

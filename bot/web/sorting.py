"""Tables sorted by a column through links (`?sort=ignore_rate&dir=desc`), no script.

A sort column the page does not offer is ignored (the table keeps its own order), as is
a direction other than `asc` or `desc` (the column's natural one). Rows without a value
in the column (a rate with nothing counted) go last in either direction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

SORT_PARAM = "sort"
DIR_PARAM = "dir"
ASC = "asc"
DESC = "desc"

T = TypeVar("T")
Value = float | int | str


@dataclass(frozen=True)
class Sort:
    column: str | None  # None: the table's own order
    descending: bool = True

    @property
    def direction(self) -> str:
        return DESC if self.descending else ASC


def parse_sort(
    column: str | None,
    direction: str | None,
    offered: Collection[str],
    text_columns: Collection[str] = (),
) -> Sort:
    """The sort a query asks for, among the columns `offered`. Numbers sort largest
    first unless `dir=asc`; a text column (`text_columns`) A to Z unless `dir=desc`."""
    if column not in offered:
        return Sort(None)
    assert column is not None
    if direction in (ASC, DESC):
        return Sort(column, direction == DESC)
    return Sort(column, column not in text_columns)


def sort_rows(rows: Sequence[T], sort: Sort, value: Callable[[T, str], Value | None]) -> list[T]:
    """The rows in the order `sort` asks; a stable sort, so ties keep the table's order.
    Rows whose value is None come last."""
    if sort.column is None:
        return list(rows)
    column = sort.column
    present = [r for r in rows if value(r, column) is not None]
    absent = [r for r in rows if value(r, column) is None]
    present.sort(key=lambda r: _key(value(r, column)), reverse=sort.descending)
    return present + absent


def _key(value: Value | None) -> tuple[int, float, str]:
    if isinstance(value, str):
        return (1, 0.0, value.casefold())
    return (0, float(value or 0), "")


def next_sort(current: Sort, column: str, text_columns: Collection[str] = ()) -> Sort:
    """What a column's header link asks for: the other direction if the table is sorted
    by it already, else the column's natural direction."""
    if current.column == column:
        return Sort(column, not current.descending)
    return Sort(column, column not in text_columns)


def sort_params(params: Mapping[str, str], sort: Sort) -> dict[str, str]:
    """The query `params` with the sort replaced by `sort`."""
    kept = {k: v for k, v in params.items() if k not in (SORT_PARAM, DIR_PARAM)}
    if sort.column is not None:
        kept[SORT_PARAM] = sort.column
        kept[DIR_PARAM] = sort.direction
    return kept

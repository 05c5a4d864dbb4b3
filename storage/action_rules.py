"""The domain's rules on actions (`metrics.model.is_qualifying`, `is_exclusion`) as SQL.

The SQL is derived from the rules themselves, asked about every kind with and without an
excluding reason, so that a query finding "the action that made the lead's first touch"
agrees with the Python that chose it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Table, and_, false, or_
from sqlalchemy.sql.expression import ColumnElement

from metrics.model import ActionKind, is_exclusion, is_qualifying

Rule = Callable[..., bool]


def _as_sql(rule: Rule, actions: Table) -> ColumnElement[bool]:
    always: list[str] = []
    unless_excluding: list[str] = []
    if_excluding: list[str] = []
    for kind in ActionKind:
        when_not, when_so = rule(kind, excludes=False), rule(kind, excludes=True)
        if when_not and when_so:
            always.append(kind.value)
        elif when_not:
            unless_excluding.append(kind.value)
        elif when_so:
            if_excluding.append(kind.value)
    kind_col, excludes_col = actions.c.kind, actions.c.excludes
    terms: list[ColumnElement[bool]] = []
    if always:
        terms.append(kind_col.in_(always))
    if unless_excluding:
        terms.append(and_(kind_col.in_(unless_excluding), excludes_col.is_(False)))
    if if_excluding:
        terms.append(and_(kind_col.in_(if_excluding), excludes_col.is_(True)))
    return or_(*terms) if terms else false()


def qualifying(actions: Table) -> ColumnElement[bool]:
    """`metrics.model.is_qualifying` over the rows of `actions` (or an alias of it)."""
    return _as_sql(is_qualifying, actions)


def exclusion(actions: Table) -> ColumnElement[bool]:
    """`metrics.model.is_exclusion` over the rows of `actions` (or an alias of it)."""
    return _as_sql(is_exclusion, actions)

"""Every lead with its outcome as of a moment, read for `ignorerate export leads`.

The rows are streamed (a server-side cursor on PostgreSQL, fetched a batch at a time), so
an export of millions of leads holds one batch in memory, never the whole table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, select

from storage import reports
from storage.tables import Lead, Rep, Team

BATCH = 5000


class LeadOutcome(NamedTuple):
    """One lead as it stood at the moment asked about. A tuple rather than a dataclass:
    an export builds one per lead."""

    source: str
    external_id: str
    team: str
    owner_email: str | None  # the owner at that moment; None: unassigned
    charged_to: str | None  # the rep the outcome is charged to; None: nobody
    handed_off_at: datetime
    due_at: datetime
    first_action_at: datetime | None  # None: none yet at that moment
    first_action_kind: str | None  # `contacted:call`, `rejected`...
    outcome: str  # on_time, late, excluded, pending or ignored


def _query(as_of: datetime) -> Select[Any]:
    lead = Lead.__table__.c
    team = Team.__table__.c
    owner = Rep.__table__.alias("owner")
    charged = Rep.__table__.alias("charged")
    return (
        select(
            lead.source,
            lead.external_id,
            team.name,
            owner.c.email,
            charged.c.email,
            lead.handed_off_at,
            lead.due_at,
            lead.first_action_at,
            reports.first_action_expression(as_of),
            reports.outcome_expression(as_of),
        )
        .join_from(Lead.__table__, Team.__table__, lead.team_id == team.id)
        .outerjoin(owner, reports.owner_expression(as_of) == owner.c.id)
        .outerjoin(charged, reports.attributed_rep_expression(as_of) == charged.c.id)
        .where(lead.handed_off_at <= as_of)
        .order_by(lead.id)
    )


def lead_outcomes(conn: Connection, as_of: datetime) -> Iterator[LeadOutcome]:
    """Every lead handed off by `as_of`, in id order, with its outcome as of then.

    A generator: the caller keeps `conn` open while it reads, and memory stays flat
    however many leads there are (BATCH rows are fetched at a time)."""
    rows = conn.execute(
        _query(as_of), execution_options={"stream_results": True, "yield_per": BATCH}
    )
    for source, external_id, team, owner, charged, handed, due, first_at, kind, outcome in rows:
        known = first_at if first_at is not None and first_at <= as_of else None
        yield LeadOutcome(
            source, external_id, team, owner, charged, handed, due, known, kind, outcome
        )

"""Every lead with its outcome, streamed for `ignorerate export leads`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine, select

from storage import reports
from storage.tables import Lead, Rep, Team

EXPORT_COLUMNS = (
    "source",
    "external_id",
    "team",
    "owner_email",
    "charged_to",
    "handed_off_at",
    "due_at",
    "first_action_at",
    "first_action_kind",
    "outcome",
)


def export_leads(engine: Engine, as_of: datetime) -> Iterator[dict[str, str]]:
    """Every lead with its outcome as of `as_of`, streamed from the database."""
    lead = Lead.__table__.c
    team = Team.__table__.c
    owner = Rep.__table__.alias("owner")
    charged = Rep.__table__.alias("charged")
    query = (
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
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=5000).execute(query)
        for (
            src,
            ext,
            team_name,
            owner_email,
            charged_to,
            handed,
            due,
            first_at,
            kind,
            result,
        ) in rows:
            visible_first = first_at if first_at is not None and first_at <= as_of else None
            yield {
                "source": src,
                "external_id": ext,
                "team": team_name,
                "owner_email": owner_email or "",
                "charged_to": charged_to or "",
                "handed_off_at": handed.isoformat(),
                "due_at": due.isoformat(),
                "first_action_at": visible_first.isoformat() if visible_first else "",
                "first_action_kind": kind or "",
                "outcome": result,
            }

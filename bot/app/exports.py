"""Every lead with its outcome, streamed for `ignorerate export leads`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from storage import exports
from storage.engine import Engine

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
    with engine.connect() as conn:
        for row in exports.lead_outcomes(conn, as_of):
            yield {
                "source": row.source,
                "external_id": row.external_id,
                "team": row.team,
                "owner_email": row.owner_email or "",
                "charged_to": row.charged_to or "",
                "handed_off_at": row.handed_off_at.isoformat(),
                "due_at": row.due_at.isoformat(),
                "first_action_at": row.first_action_at.isoformat() if row.first_action_at else "",
                "first_action_kind": row.first_action_kind or "",
                "outcome": row.outcome,
            }

"""A rep is away, or back (`ignorerate away`): the SLA sweep's round-robin reassignment
skips a rep who is away."""

from __future__ import annotations

from datetime import datetime

from storage import nudges
from storage.engine import Engine, writing


def mark_away(engine: Engine, email: str, *, away: bool, now: datetime) -> None:
    """Marks the rep with this email (any case) away or back; a rep not yet known is
    added, so that a rep may be marked away before their first lead."""
    with writing(engine) as conn:
        nudges.set_away(conn, email, away, now)

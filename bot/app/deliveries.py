"""What a platform's sender reads and writes while it delivers a message: a lead card is
worded from the lead as it is at delivery, a digest from what is still overdue then, and
a DM channel Slack opened is remembered for the next one. One call, one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from metrics.views import LeadView, Person
from storage import leads as store
from storage import nudges as nudge_store
from storage import reports
from storage.engine import Engine, writing


@dataclass(frozen=True)
class Overdue:
    """The leads a digest lists (at most the first page of them) and how many there are."""

    leads: list[LeadView]
    total: int


def overdue(
    engine: Engine,
    now: datetime,
    *,
    include: Sequence[int],
    since: datetime,
    owner_id: int | None = None,
    team_names: Sequence[str] = (),
) -> Overdue:
    """Of the leads a digest was queued for (`include`), those still overdue at `now`: a
    lead acted on since the sweep is left out."""
    with engine.connect() as conn:
        ids, total = nudge_store.overdue_leads(
            conn, now, owner_id=owner_id, team_names=team_names, include=include, since=since
        )
        views = store.lead_views(conn, ids)
    return Overdue([views[i] for i in ids if i in views], total)


def dm_channel(engine: Engine, person: Person) -> str | None:
    """The DM channel Slack opened to `person` last time, if any."""
    with engine.connect() as conn:
        return store.dm_channel(conn, person.id)


def remember_dm_channel(engine: Engine, rep_id: int, channel: str) -> None:
    """Remembers the DM channel a message to the rep went to, for the next one."""
    with writing(engine) as conn:
        store.remember_dm_channel(conn, rep_id, channel)


def team_row_id(engine: Engine, team: str) -> int | None:
    """The team's row id (what a signed chart link names), None if it has none yet."""
    with engine.connect() as conn:
        return reports.team_id(conn, team)

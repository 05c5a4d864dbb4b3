"""Leads as the adapters show them: a lead's card facts, where its cards were posted, the
person a link was sent to, and the leads of a person's App Home tab. Each function reads
in one connection what one screen needs, so an adapter makes one call per thing it shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from metrics.views import LeadView, Person
from storage import leads as store
from storage import reports
from storage.engine import Engine


def lead_view(engine: Engine, lead_id: int) -> LeadView | None:
    """What a lead card shows of the lead; None if there is no such lead."""
    with engine.connect() as conn:
        return store.lead_view(conn, lead_id)


def lead_and_cards(engine: Engine, lead_id: int) -> tuple[LeadView | None, list[tuple[str, str]]]:
    """The lead, and (channel, ts) of every card posted for it (to update them in place)."""
    with engine.connect() as conn:
        return store.lead_view(conn, lead_id), store.card_messages(conn, lead_id)


def lead_and_person(
    engine: Engine, lead_id: int, rep_id: int | None
) -> tuple[LeadView | None, Person | None]:
    """The lead, and the person with row id `rep_id` (None when not asked for, or when
    there is no such person): what a one-click link sent to a person names."""
    with engine.connect() as conn:
        lead = store.lead_view(conn, lead_id)
        person = store.person_by_id(conn, rep_id) if rep_id is not None else None
    return lead, person


@dataclass(frozen=True)
class HomeLeads:
    """What a person's App Home tab lists: their open leads (soonest deadline first, at
    most the limit asked for) and how many they have in all; and for each team they
    manage, who holds its overdue untouched leads (None: unassigned), most first."""

    leads: list[LeadView]
    total: int
    overdue: dict[str, list[tuple[str | None, int]]]


def home_leads(
    engine: Engine, owner_id: int, limit: int, managed: Sequence[str], now: datetime
) -> HomeLeads:
    """The App Home tab's leads for the person `owner_id` who manages the teams named
    `managed` (a team the database has never seen holds nothing), as of `now`."""
    with engine.connect() as conn:
        ids, total = store.open_lead_ids(conn, owner_id, limit)
        views = store.lead_views(conn, ids)
        overdue = {}
        for name in managed:
            team_id = reports.team_id(conn, name)
            overdue[name] = (
                store.overdue_by_owner(conn, team_id, now) if team_id is not None else []
            )
    return HomeLeads([views[i] for i in ids if i in views], total, overdue)

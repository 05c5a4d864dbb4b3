"""The outcome of one lead as of a moment T, and whom it is charged to."""

from __future__ import annotations

from datetime import datetime

from metrics.model import Action, Lead, Outcome


def _order(action: Action) -> tuple[datetime, int]:
    return (action.at, action.seq)


def first_action(lead: Lead, as_of: datetime) -> Action | None:
    """The earliest qualifying action at or before `as_of` (ties: the one recorded first)."""
    seen = [a for a in lead.actions if a.is_qualifying and a.at <= as_of]
    return min(seen, key=_order, default=None)


def exclusion(lead: Lead, as_of: datetime) -> Action | None:
    seen = [a for a in lead.actions if a.is_exclusion and a.at <= as_of]
    return min(seen, key=_order, default=None)


def outcome(lead: Lead, as_of: datetime) -> Outcome:
    if exclusion(lead, as_of) is not None:
        return Outcome.EXCLUDED
    first = first_action(lead, as_of)
    if first is not None:
        return Outcome.ON_TIME if first.at <= lead.due_at else Outcome.LATE
    return Outcome.PENDING if lead.due_at > as_of else Outcome.IGNORED


def attribution_time(lead: Lead, as_of: datetime) -> datetime:
    """`min(first, due_at, T)`: when the outcome became the rep's to answer for."""
    first = first_action(lead, as_of)
    moments = [lead.due_at, as_of] + ([first.at] if first else [])
    return min(moments)


def owner_at(lead: Lead, moment: datetime) -> str | None:
    """The rep holding the lead at `moment` (the latest span that began at or before it)."""
    spans = [s for s in lead.owners if s.since <= moment]
    if not spans:
        return None
    return max(spans, key=lambda s: (s.since, s.seq)).rep


def attributed_rep(lead: Lead, as_of: datetime) -> str | None:
    """The rep the outcome is charged to: who acted on time, who held it when the SLA ran out,
    or (pending) who holds it now."""
    return owner_at(lead, attribution_time(lead, as_of))

"""A lead and a person as the bot shows them: what a card, a digest line or a one-click
page reads. Plain records; storage fills them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    slack_user_id: str | None
    timezone: str | None
    display_name: str | None


@dataclass(frozen=True)
class LeadView:
    """One lead as a card shows it."""

    id: int
    source: str
    external_id: str
    team: str
    handed_off_at: datetime
    due_at: datetime
    name: str | None
    company: str | None
    email: str | None
    campaign: str | None
    owner: Person | None
    first_action_at: datetime | None
    first_action_kind: str | None
    first_action_channel: str | None
    first_actor: Person | None
    first_reason: str | None
    excluded_at: datetime | None
    exclusion_reason: str | None
    snoozed_until: datetime | None

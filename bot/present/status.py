"""The line saying what happened to a lead (excluded, rejected or contacted, how long
after its handoff, within its SLA or not), which the Slack card, the Teams card and the
one-click page each show in their own words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.present.i18n import t
from bot.present.words import human_minutes, reason_label


class LeadFacts(Protocol):
    """What the status line reads of a lead (`metrics.views.LeadView` has it)."""

    @property
    def handed_off_at(self) -> datetime: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def excluded_at(self) -> datetime | None: ...
    @property
    def exclusion_reason(self) -> str | None: ...
    @property
    def first_action_at(self) -> datetime | None: ...
    @property
    def first_action_kind(self) -> str | None: ...
    @property
    def first_action_channel(self) -> str | None: ...
    @property
    def first_reason(self) -> str | None: ...


@dataclass(frozen=True)
class StatusKeys:
    """The catalog keys of one platform's status line. Each text may use `actor`,
    `reason`, `how` (the contact channel), `after` (time from handoff to first touch),
    `sla` (within it, or how far past) and `when` (the moment, when one is given)."""

    excluded: str
    rejected: str
    contacted: str


SLACK_CARD = StatusKeys("card.excluded", "card.rejected", "card.contacted")
TEAMS_CARD = StatusKeys("teams.lead.excluded", "teams.lead.rejected", "teams.lead.contacted")
ACK_PAGE = StatusKeys("ack.state_excluded", "ack.state_rejected", "ack.state_contacted")


def _minutes(span: timedelta) -> float:
    return span.total_seconds() / 60


def lead_status(
    lead: LeadFacts,
    locale: str,
    keys: StatusKeys,
    *,
    actor: str,
    when: Callable[[datetime], str] | None = None,
) -> str | None:
    """One line saying what happened to the lead, or None while it is open.

    `actor` is the first actor as the platform names them; `when`, if given, writes the
    moment of the exclusion or of the first touch."""
    if lead.excluded_at is not None:
        reason = reason_label(lead.exclusion_reason or "excluded", locale)
        moment = {} if when is None else {"when": when(lead.excluded_at)}
        return t(locale, keys.excluded, reason=reason, **moment)
    if lead.first_action_at is None:
        return None
    after = human_minutes(_minutes(lead.first_action_at - lead.handed_off_at), locale)
    if lead.first_action_at <= lead.due_at:
        sla = t(locale, "card.within_sla")
    else:
        late = human_minutes(_minutes(lead.first_action_at - lead.due_at), locale)
        sla = t(locale, "card.past_sla", late=late)
    timing = {"after": after, "sla": sla}
    if when is not None:
        timing["when"] = when(lead.first_action_at)
    if lead.first_action_kind == "rejected":
        reason = reason_label(lead.first_reason or "other", locale)
        return t(locale, keys.rejected, actor=actor, reason=reason, **timing)
    how = t(locale, f"contact.{lead.first_action_channel or 'other'}")
    return t(locale, keys.contacted, actor=actor, how=how, **timing)

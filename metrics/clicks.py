"""The click plan: what one person's click on a lead records, or why it is refused.

Pure: the caller gathers the lead's state and the clicker's role, asks `plan`, then
applies it. A plan may need a claim first (the lead's first action, or its exclusion,
taken by one click of several racing); a claim lost refuses the click as `Plan.lost`
says, and nothing is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from metrics.access import Ownership, People, Role, new_owner_scope
from metrics.model import ActionKind, ContactChannel, NewAction, RejectReason

# the lengths a snooze may have: every card and page offers these, and no other is taken
SNOOZE_MINUTES = (60, 240, 1440)


def snooze_end(at: datetime, minutes: int | None) -> datetime | None:
    """When a snooze of `minutes` chosen at `at` ends; None: not a length offered."""
    if minutes not in SNOOZE_MINUTES:
        return None
    return at + timedelta(minutes=minutes)


class Result(StrEnum):
    RECORDED = "recorded"
    REPEATED = "repeated"  # the same click delivered twice
    FORBIDDEN = "forbidden"
    ALREADY_ACTIONED = "already_actioned"
    ALREADY_EXCLUDED = "already_excluded"
    NO_SUCH_LEAD = "no_such_lead"
    BAD_REQUEST = "bad_request"
    SNOOZE_NOT_OFFERED = "snooze_not_offered"  # a length no card offers
    OWNER_OUTSIDE_TEAM = "owner_outside_team"  # reassigned to someone the rule refuses


@dataclass(frozen=True)
class Click:
    """One person's action on one lead, from any door."""

    lead_id: int
    actor_email: str
    kind: ActionKind
    at: datetime
    key: str  # idempotency: the same click delivered twice has the same key
    via: str
    channel: ContactChannel | None = None
    reason: str | None = None
    new_owner_email: str | None = None
    snooze_minutes: int | None = None  # one of SNOOZE_MINUTES, from `at`


@dataclass(frozen=True)
class LeadState:
    """What of the lead's state a click is judged by."""

    excluded: bool
    actioned: bool  # its first qualifying action is recorded


class Claim(StrEnum):
    """What a click must take before it records anything: of racing clicks, one wins."""

    FIRST_ACTION = "first_action"
    EXCLUSION = "exclusion"


@dataclass(frozen=True)
class Plan:
    refusal: Result | None = None  # refused: nothing to claim or record
    claim: Claim | None = None
    records: tuple[NewAction, ...] = ()
    took_over: bool = False

    @property
    def lost(self) -> Result:
        """The refusal when the claim is lost."""
        if self.claim is Claim.FIRST_ACTION:
            return Result.ALREADY_ACTIONED
        return Result.ALREADY_EXCLUDED


def plan(  # noqa: PLR0911 (one early answer per rule, in the order they apply)
    click: Click,
    *,
    lead: LeadState,
    role: Role,
    people: People,
    reason: RejectReason | None,
) -> Plan:
    """`reason`: the configured reason `click.reason` names (None: none, or unknown)."""
    excludes = bool(reason and reason.excludes) or click.kind is ActionKind.EXCLUDED
    if click.kind is ActionKind.REJECTED and reason is None:
        return Plan(Result.BAD_REQUEST)
    if click.kind is ActionKind.REASSIGNED and not click.new_owner_email:
        return Plan(Result.BAD_REQUEST)
    # what was asked for is checked before what the lead's state makes of it
    cross_team = False
    if click.kind is ActionKind.REASSIGNED and click.new_owner_email:
        scope = new_owner_scope(people, role, click.new_owner_email)
        if scope is None:
            return Plan(Result.OWNER_OUTSIDE_TEAM)
        cross_team = scope is Ownership.CROSS_TEAM
    until = snooze_end(click.at, click.snooze_minutes)
    if click.kind is ActionKind.SNOOZED and until is None:
        return Plan(Result.SNOOZE_NOT_OFFERED)
    if lead.excluded:
        return Plan(Result.ALREADY_EXCLUDED)
    took_over = False
    claim: Claim | None = None
    records: list[NewAction] = []
    qualifying = click.kind is ActionKind.CONTACTED or (
        click.kind is ActionKind.REJECTED and not excludes
    )
    if qualifying:
        claim = Claim.FIRST_ACTION
        if role is Role.TEAMMATE:
            # taking a lead over: it becomes the teammate's, on the record, then the action
            took_over = True
            records.append(
                NewAction(
                    lead_id=click.lead_id,
                    at=click.at,
                    kind=ActionKind.REASSIGNED,
                    idempotency_key=f"{click.key}:takeover",
                    via=click.via,
                    actor_email=click.actor_email,
                    new_owner_email=click.actor_email,
                )
            )
    elif excludes:
        claim = Claim.EXCLUSION
    elif click.kind is ActionKind.SNOOZED and lead.actioned:
        return Plan(Result.ALREADY_ACTIONED)
    records.append(
        NewAction(
            lead_id=click.lead_id,
            at=click.at,
            kind=click.kind,
            idempotency_key=click.key,
            via=click.via,
            channel=click.channel.value if click.channel else None,
            reason=reason.code if reason else click.reason,
            excludes=excludes and click.kind is ActionKind.REJECTED,
            actor_email=click.actor_email,
            new_owner_email=click.new_owner_email,
            until=until if click.kind is ActionKind.SNOOZED else None,
            cross_team=cross_team,
        )
    )
    return Plan(None, claim, tuple(records), took_over)

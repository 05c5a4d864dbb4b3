"""A person acts on a lead (a Slack button, a Teams link): who may, what the click means
(the rules: metrics.access and metrics.clicks), recorded once in one transaction. Of two
people clicking at once, one records the first action and the other is told who did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.app.crm import queue_write_backs
from bot.config import Settings, TeamConfig
from metrics import access, clicks
from metrics.access import Ownership, Role
from metrics.clicks import SNOOZE_MINUTES, Click, Result, snooze_end
from metrics.model import ActionKind
from metrics.views import LeadView
from storage import leads as store
from storage import repository as repo
from storage.engine import Connection, Engine, writing

# the rules live in metrics.access and metrics.clicks; the doors ask them through here
__all__ = [
    "SNOOZE_MINUTES",
    "Click",
    "ClickOutcome",
    "Ownership",
    "Result",
    "Role",
    "act",
    "new_owner_scope",
    "people_of",
    "role_of",
    "snooze_end",
]


def people_of(settings: Settings, team: TeamConfig) -> access.People:
    """The people the access rules see around a lead of `team`."""
    return access.People(
        admins=settings.admins,
        managers=team.managers,
        reps=team.reps,
        every_rep=frozenset(rep for other in settings.teams for rep in other.reps),
    )


def role_of(settings: Settings, team: TeamConfig, owner: str | None, actor: str) -> Role | None:
    """What the actor is to this lead; None: a stranger, who may not act on it (the rule:
    metrics.access)."""
    return access.role_of(people_of(settings, team), owner, actor)


def new_owner_scope(
    settings: Settings, team: TeamConfig, role: Role, new_owner: str
) -> Ownership | None:
    """Whether the person `role` picked may own a lead of `team`; None: they may not (the
    rule: metrics.access)."""
    return access.new_owner_scope(people_of(settings, team), role, new_owner)


@dataclass(frozen=True)
class ClickOutcome:
    result: Result
    lead: LeadView | None = None
    role: Role | None = None
    took_over: bool = False
    detail: str = ""


def act(engine: Engine, settings: Settings, click: Click, now: datetime) -> ClickOutcome:
    """Decides and records a click in one transaction. Of two people clicking at once,
    one records the first action and the other is told who did."""
    with writing(engine) as conn:
        lead = store.lead_view(conn, click.lead_id)
        if lead is None:
            return ClickOutcome(Result.NO_SUCH_LEAD)
        team = settings.team(lead.team)
        if team is None:
            return ClickOutcome(Result.FORBIDDEN, lead, detail="team no longer configured")
        role = role_of(settings, team, lead.owner.email if lead.owner else None, click.actor_email)
        if role is None:
            return ClickOutcome(Result.FORBIDDEN, lead)
        if store.action_recorded(conn, click.key):
            return ClickOutcome(Result.REPEATED, lead, role)
        reason = settings.reason(click.reason) if click.reason else None
        state = clicks.LeadState(
            excluded=lead.excluded_at is not None, actioned=lead.first_action_at is not None
        )
        plan = clicks.plan(
            click, lead=state, role=role, people=people_of(settings, team), reason=reason
        )
        refusal = plan.refusal
        if refusal is None and not _claim(conn, plan.claim, click):
            refusal = plan.lost
        if refusal is not None:
            return ClickOutcome(refusal, store.lead_view(conn, lead.id) or lead, role)
        repo.add_actions(conn, list(plan.records), now)
        queue_write_backs(conn, settings, lead.source, plan.records, now)
        until = plan.records[-1].until
        if click.kind is ActionKind.SNOOZED and until is not None:
            store.set_snooze(conn, lead.id, until)
        return ClickOutcome(Result.RECORDED, store.lead_view(conn, lead.id), role, plan.took_over)


def _claim(conn: Connection, claim: clicks.Claim | None, click: Click) -> bool:
    """Takes what the plan needs taken first; False: another click took it."""
    if claim is clicks.Claim.FIRST_ACTION:
        channel = click.channel.value if click.channel else None
        return store.claim_first_action(conn, click.lead_id, click.at, click.kind.value, channel)
    if claim is clicks.Claim.EXCLUSION:
        return store.claim_exclusion(conn, click.lead_id, click.at)
    return True

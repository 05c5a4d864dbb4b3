"""Use cases of the live bot: a handoff arrives, a person acts on a lead.

Every door (webhook, Slack channel message, Slack click, Teams link) calls these, so the
same thing done twice, or from two places, is recorded once and decided the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from bot.config import Settings, TeamConfig
from bot.fields import LeadInput
from bot.services import ingest_leads
from metrics import access, clicks
from metrics.access import Ownership, Role
from metrics.clicks import SNOOZE_MINUTES, Click, Result, snooze_end
from metrics.model import ActionKind
from metrics.routing import MessageKind, Platform, Reach, platforms
from storage import leads as store
from storage import outbox as outbox_store
from storage import repository as repo
from storage.engine import writing
from storage.tables import Action

# the rules live in metrics.access and metrics.clicks; the doors ask them through here
__all__ = [
    "SNOOZE_MINUTES",
    "Click",
    "ClickOutcome",
    "HandoffResult",
    "Message",
    "Ownership",
    "Result",
    "Role",
    "act",
    "card_keys",
    "enqueue",
    "enqueue_many",
    "new_owner_scope",
    "people_of",
    "platforms_of",
    "receive_handoffs",
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


def platforms_of(team: TeamConfig, kind: MessageKind) -> frozenset[Platform]:
    """Which platforms get a message of `kind` for `team` (the rule: metrics.routing)."""
    reach = Reach(
        slack_channel=bool(team.slack_channel),
        slack_handoff_channels=bool(team.handoff_channels),
        teams_webhook=bool(team.teams_webhook),
    )
    return platforms(reach, kind)


def new_owner_scope(
    settings: Settings, team: TeamConfig, role: Role, new_owner: str
) -> Ownership | None:
    """Whether the person `role` picked may own a lead of `team`; None: they may not (the
    rule: metrics.access)."""
    return access.new_owner_scope(people_of(settings, team), role, new_owner)


# ---------------------------------------------------------------- handoffs


@dataclass(frozen=True)
class HandoffResult:
    ids: dict[tuple[str, str], int]  # every lead of the request, new or known
    new: frozenset[int]


def card_keys(team: TeamConfig, lead: LeadInput) -> list[tuple[str, dict[str, object]]]:
    """The Slack cards a new lead sends: to its owner (who may turn out to be unknown in
    Slack; then it goes to the team channel as unassigned), and to the team channel if
    asked. None for a team that is not on Slack."""
    cards: list[tuple[str, dict[str, object]]] = []
    if Platform.SLACK not in platforms_of(team, MessageKind.LEAD_CARD):
        return cards
    if lead.owner_email:
        cards.append(("owner", {"to": "owner"}))
    elif team.slack_channel:
        cards.append(("channel", {"to": "channel"}))
    if team.post_to_channel and team.slack_channel and lead.owner_email:
        cards.append(("channel", {"to": "channel"}))
    return cards


def receive_handoffs(
    engine: Engine, settings: Settings, leads: Sequence[LeadInput], now: datetime
) -> HandoffResult:
    """Records the leads and, in the same transaction, the cards they send: a lead is
    never stored without its card queued, nor a card queued for a lead not stored."""
    with writing(engine) as conn:
        created = ingest_leads(conn, settings, leads, now)
        # the leads this request did not create were there before (or were made meanwhile
        # by a concurrent request, which the insert waited for): only those are looked up
        ids = dict(created)
        known = repo.find_leads(conn, (lead.key for lead in leads if lead.key not in created))
        ids.update((key, ref.id) for key, ref in known.items())
        cards: list[Message] = []
        for lead in leads:
            lead_id = created.get(lead.key)
            if lead_id is None:
                continue
            team = settings.team(lead.team)
            assert team is not None  # ingest_leads refused unknown teams
            cards += [
                Message(
                    f"card:{lead_id}:{suffix}", {"kind": "lead_card", "lead_id": lead_id, **payload}
                )
                for suffix, payload in card_keys(team, lead)
            ]
            if Platform.TEAMS in platforms_of(team, MessageKind.LEAD_CARD):
                # one card in the team's channel: a webhook reaches no one directly
                cards.append(
                    Message(
                        f"card:{lead_id}:teams",
                        {"kind": "lead_card", "lead_id": lead_id},
                        target=team.name,
                        platform="teams",
                    )
                )
        enqueue_many(conn, cards, now)
        return HandoffResult(ids, frozenset(created.values()))


@dataclass(frozen=True)
class Message:
    """An outbox row to be: its unique key, what to send, to whom, by which sender.
    A Teams row's target is its team's name, never the webhook URL: the URL's query is a
    credential, and targets are listed by `ignorerate outbox`."""

    key: str
    payload: Mapping[str, object]
    target: str = ""
    platform: str = "slack"


def enqueue_many(conn: Connection, messages: Sequence[Message], now: datetime) -> set[str]:
    """Queues messages in one statement; returns the keys that were new (a key already
    queued is the same message, left as it is)."""
    new = [
        outbox_store.NewMessage(
            m.key, m.platform, m.target, json.dumps(m.payload, ensure_ascii=False)
        )
        for m in messages
    ]
    return outbox_store.queue(conn, new, now)


def enqueue(
    conn: Connection,
    key: str,
    payload: Mapping[str, object],
    now: datetime,
    target: str = "",
    *,
    platform: str = "slack",
) -> bool:
    """Queues one message for delivery by `platform`'s sender; False: already queued."""
    return bool(enqueue_many(conn, [Message(key, payload, target, platform)], now))


# ---------------------------------------------------------------- clicks


@dataclass(frozen=True)
class ClickOutcome:
    result: Result
    lead: store.LeadView | None = None
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
        done = conn.execute(
            select(Action.__table__.c.id).where(Action.__table__.c.idempotency_key == click.key)
        ).first()
        if done is not None:
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

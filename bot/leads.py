"""Use cases of the live bot: a handoff arrives, a person acts on a lead.

Every door (webhook, Slack channel message, Slack click, Teams link) calls these, so the
same thing done twice, or from two places, is recorded once and decided the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

from sqlalchemy import Connection, Engine, Table, select

from bot.config import Settings, TeamConfig
from bot.fields import LeadInput
from bot.services import ingest_leads
from metrics.model import ActionKind, ContactChannel
from metrics.routing import MessageKind, Platform, Reach, platforms
from storage import leads as store
from storage import repository as repo
from storage.engine import writing
from storage.tables import Action, OutboxMessage


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    TEAMMATE = "teammate"


def role_of(settings: Settings, team: TeamConfig, owner: str | None, actor: str) -> Role | None:
    """What the actor is to this lead; None: a stranger, who may not act on it."""
    actor = actor.lower()
    if owner is not None and owner.lower() == actor:
        return Role.OWNER
    if actor in settings.admins:
        return Role.ADMIN
    if actor in team.managers:
        return Role.MANAGER
    if actor in team.reps:
        return Role.TEAMMATE
    return None


def platforms_of(team: TeamConfig, kind: MessageKind) -> frozenset[Platform]:
    """Which platforms get a message of `kind` for `team` (the rule: metrics.routing)."""
    reach = Reach(
        slack_channel=bool(team.slack_channel),
        slack_handoff_channels=bool(team.handoff_channels),
        teams_webhook=bool(team.teams_webhook),
    )
    return platforms(reach, kind)


class Ownership(StrEnum):
    TEAM = "team"  # a rep or manager of the lead's team
    CROSS_TEAM = "cross_team"  # a rep of another team, picked by an admin (and recorded so)


def new_owner_scope(
    settings: Settings, team: TeamConfig, role: Role, new_owner: str
) -> Ownership | None:
    """Whether the person `role` picked may own a lead of `team`; None: they may not (a
    person on no team, or on another team picked by anyone but an admin)."""
    new_owner = new_owner.lower()
    if new_owner in team.reps or new_owner in team.managers:
        return Ownership.TEAM
    if role is Role.ADMIN and any(new_owner in other.reps for other in settings.teams):
        return Ownership.CROSS_TEAM
    return None


# the lengths a snooze may have: every card and page offers these, and no other is taken
SNOOZE_MINUTES = (60, 240, 1440)


def snooze_end(at: datetime, minutes: int | None) -> datetime | None:
    """When a snooze of `minutes` chosen at `at` ends; None: not a length offered."""
    if minutes not in SNOOZE_MINUTES:
        return None
    return at + timedelta(minutes=minutes)


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
    if not messages:
        return set()
    table = cast(Table, OutboxMessage.__table__)
    rows = [
        {
            "key": m.key,
            "platform": m.platform,
            "target": m.target,
            "payload": json.dumps(m.payload, ensure_ascii=False),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for m in messages
    ]
    if conn.dialect.name == "postgresql":
        # one array a column: a VALUES list of 500 cards is 4,000 parameters to parse
        return {
            str(key)
            for (key,) in repo._unnest_insert(
                conn, table, rows, conflict=["key"], returning=["key"]
            )
        }
    stmt = (
        repo._insert(conn, table)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.key)
    )
    return set(conn.execute(stmt, rows).scalars())


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
        actions, refusal, took_over = _plan(
            conn, settings, team=team, lead=lead, role=role, click=click
        )
        if refusal is not None:
            return ClickOutcome(refusal, store.lead_view(conn, lead.id) or lead, role)
        repo.add_actions(conn, actions, now)
        until = actions[-1].until
        if click.kind is ActionKind.SNOOZED and until is not None:
            store.set_snooze(conn, lead.id, until)
        return ClickOutcome(Result.RECORDED, store.lead_view(conn, lead.id), role, took_over)


def _plan(  # noqa: PLR0911 (one early answer per rule, in the order they apply)
    conn: Connection,
    settings: Settings,
    *,
    team: TeamConfig,
    lead: store.LeadView,
    role: Role,
    click: Click,
) -> tuple[list[repo.NewAction], Result | None, bool]:
    reason = settings.reason(click.reason) if click.reason else None
    excludes = bool(reason and reason.excludes) or click.kind is ActionKind.EXCLUDED
    if click.kind is ActionKind.REJECTED and reason is None:
        return [], Result.BAD_REQUEST, False
    if click.kind is ActionKind.REASSIGNED and not click.new_owner_email:
        return [], Result.BAD_REQUEST, False
    # what was asked for is checked before what the lead's state makes of it
    cross_team = False
    if click.kind is ActionKind.REASSIGNED and click.new_owner_email:
        scope = new_owner_scope(settings, team, role, click.new_owner_email)
        if scope is None:
            return [], Result.OWNER_OUTSIDE_TEAM, False
        cross_team = scope is Ownership.CROSS_TEAM
    until = snooze_end(click.at, click.snooze_minutes)
    if click.kind is ActionKind.SNOOZED and until is None:
        return [], Result.SNOOZE_NOT_OFFERED, False
    if lead.excluded_at is not None:
        return [], Result.ALREADY_EXCLUDED, False
    took_over = False
    actions: list[repo.NewAction] = []
    qualifying = click.kind is ActionKind.CONTACTED or (
        click.kind is ActionKind.REJECTED and not excludes
    )
    if qualifying:
        kind = click.kind.value
        channel = click.channel.value if click.channel else None
        if not store.claim_first_action(conn, lead.id, click.at, kind, channel):
            return [], Result.ALREADY_ACTIONED, False
        if role is Role.TEAMMATE:
            # taking a lead over: it becomes the teammate's, on the record, then the action
            took_over = True
            actions.append(
                repo.NewAction(
                    lead_id=lead.id,
                    at=click.at,
                    kind=ActionKind.REASSIGNED,
                    idempotency_key=f"{click.key}:takeover",
                    via=click.via,
                    actor_email=click.actor_email,
                    new_owner_email=click.actor_email,
                )
            )
    elif excludes:
        if not store.claim_exclusion(conn, lead.id, click.at):
            return [], Result.ALREADY_EXCLUDED, False
    elif click.kind is ActionKind.SNOOZED and lead.first_action_at is not None:
        return [], Result.ALREADY_ACTIONED, False
    actions.append(
        repo.NewAction(
            lead_id=lead.id,
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
    return actions, None, took_over

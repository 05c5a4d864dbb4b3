"""A handoff arrives (webhook, Slack handoff channel, CSV import): the lead is recorded with
its SLA deadline and first reminder, and its cards are queued in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app.fields import LeadInput
from bot.app.messages import LeadCard, Outgoing, Post, enqueue, enqueue_many, platforms_of
from bot.app.teams import UnknownTeamError, team_ids
from bot.config import Settings, TeamConfig
from metrics.nudges import NextNudge, next_nudge
from metrics.routing import MessageKind, Platform
from metrics.sla import due_at
from storage import leads as store
from storage import repository as repo
from storage.engine import Connection, Engine, writing


@dataclass(frozen=True)
class HandoffResult:
    ids: dict[tuple[str, str], int]  # every lead of the request, new or known
    new: frozenset[int]


def lead_cards(team: TeamConfig, lead_id: int, lead: LeadInput) -> list[Outgoing]:
    """The cards a new lead sends. On Slack: to its owner (who may turn out to be unknown
    in Slack; then it goes to the team channel as unassigned), and to the team channel if
    asked. On Teams: one card in the team's channel (a webhook reaches no one directly)."""
    to = platforms_of(team, MessageKind.LEAD_CARD)
    cards: list[Outgoing] = []
    if Platform.SLACK in to:
        if lead.owner_email:
            cards.append(Outgoing(f"card:{lead_id}:owner", LeadCard(lead_id, "owner")))
        elif team.slack_channel:
            cards.append(Outgoing(f"card:{lead_id}:channel", LeadCard(lead_id, "channel")))
        if team.post_to_channel and team.slack_channel and lead.owner_email:
            cards.append(Outgoing(f"card:{lead_id}:channel", LeadCard(lead_id, "channel")))
    if Platform.TEAMS in to:
        card = LeadCard(lead_id)
        cards.append(Outgoing(f"card:{lead_id}:teams", card, Platform.TEAMS, team.name))
    return cards


def receive_handoffs(
    engine: Engine, settings: Settings, leads: Sequence[LeadInput], now: datetime
) -> HandoffResult:
    """Records the leads and, in the same transaction, the cards they send: a lead is
    never stored without its card queued, nor a card queued for a lead not stored."""
    with writing(engine) as conn:
        return handoffs_in(conn, settings, leads, now)


def handoffs_in(
    conn: Connection, settings: Settings, leads: Sequence[LeadInput], now: datetime
) -> HandoffResult:
    """`receive_handoffs` inside the caller's transaction."""
    created = new_handoffs(conn, settings, leads, now)
    # the leads this request did not create were there before (or were made meanwhile
    # by a concurrent request, which the insert waited for): only those are looked up
    ids = dict(created)
    known = repo.find_leads(conn, (lead.key for lead in leads if lead.key not in created))
    ids.update((key, ref.id) for key, ref in known.items())
    return HandoffResult(ids, frozenset(created.values()))


def new_handoffs(
    conn: Connection,
    settings: Settings,
    leads: Sequence[LeadInput],
    now: datetime,
    *,
    teams: Mapping[str, int] | None = None,
) -> dict[tuple[str, str], int]:
    """Records the leads not yet known and queues their cards, in the caller's
    transaction (a CRM sync page, which also moves its cursor in it). Returns the ids of
    the new leads only: a caller that needs no id of a known lead (the sync, whose
    backfill reads every lead again) skips looking them up. `teams`: as `ingest_leads`."""
    created = ingest_leads(conn, settings, leads, now, teams=teams)
    cards: list[Outgoing] = []
    for lead in leads:
        lead_id = created.get(lead.key)
        if lead_id is None:
            continue
        team = settings.team(lead.team)
        assert team is not None  # ingest_leads refused unknown teams
        cards += lead_cards(team, lead_id, lead)
    enqueue_many(conn, cards, now)
    return created


def ingest_leads(
    conn: Connection,
    settings: Settings,
    leads: Sequence[LeadInput],
    now: datetime,
    *,
    teams: Mapping[str, int] | None = None,
) -> dict[tuple[str, str], int]:
    """Records handoffs; a (source, external_id) already known is left alone.
    Returns the ids of the leads that are new. `teams`: the teams' row ids (`team_ids`)
    when the caller has them already (a sync, page after page); else they are made."""
    ids = team_ids(conn, settings, now) if teams is None else teams
    new = []
    for lead in leads:
        team = settings.team(lead.team)
        if team is None:
            raise UnknownTeamError(lead.team, [t.name for t in settings.teams])
        due, first = lead_schedule(team, lead.handed_off_at, now)
        new.append(
            repo.NewLead(
                source=lead.source,
                external_id=lead.external_id,
                team_id=ids[team.name],
                handed_off_at=lead.handed_off_at,
                due_at=due,
                owner_email=lead.owner_email,
                name=lead.name,
                company=lead.company,
                email=lead.email,
                campaign=lead.campaign,
                next_nudge_at=first.at if first else None,
                nudge_stage=first.stage.value if first else None,
            )
        )
    return repo.add_leads(conn, new, now)


def lead_schedule(
    team: TeamConfig, handed_off_at: datetime, now: datetime
) -> tuple[datetime, NextNudge | None]:
    """A new lead's SLA deadline and first reminder. Raises what the business calendar
    raises (e.g. CalendarError: no working time for years): an import asks this of every
    row before it writes any."""
    due = due_at(handed_off_at, team.sla, team.calendar)
    # a lead handed off before the lookback (an import of history) is counted, not chased
    chase = handed_off_at >= now - timedelta(days=team.nudges.lookback_days)
    first = (
        next_nudge(
            None,
            0,
            handed_off_at=handed_off_at,
            due_at=due,
            cycle_start=None,
            sla_minutes=team.sla.minutes,
            policy=team.nudges,
            calendar=team.calendar,
        )
        if chase
        else None
    )
    return due, first


def refuse_handoff(
    engine: Engine,
    event_id: str,
    *,
    channel: str,
    thread_ts: str | None,
    text: str,
    now: datetime,
) -> bool:
    """A handoff announced in a Slack channel that could not be read: marks the event seen
    and queues `text` as a reply in the message's thread, in one transaction, so a retried
    event neither replies twice nor loses the reply. False: the event was seen before, and
    nothing is queued."""
    with writing(engine) as conn:
        if not store.first_delivery(conn, event_id, now):
            return False
        enqueue(conn, f"reply:{event_id}", Post(channel, text, thread_ts=thread_ts), now)
    return True

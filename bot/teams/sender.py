"""The Teams sender: the outbox's rows of platform "teams", on the rules every platform
shares (`bot.outbox.engine.Outbox`), paced per webhook URL.

A row names its team, never the webhook URL (a credential, and it may be rotated in the
environment while rows wait): the URL is read from the settings when the row is sent.

- `lead_card`: rendered from the database at delivery, so a lead acted on while the row
  waited shows what happened instead of buttons; its buttons open a signed one-click
  page at PUBLIC_BASE_URL/ack/TOKEN.
- `digest`: the team's overdue leads as they are at delivery (one acted on since the
  sweep is left out; nothing left, nothing sent), reminders and escalations together.
- `summary`: the summary's numbers, made into a card at delivery, whose chart Image has a
  URL signed then (PUBLIC_BASE_URL/charts/TOKEN.png, valid CHART_TTL from then). A card
  an earlier version rendered when queued (`RenderedCard`) gets its URL the same way.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.app import deliveries, leads
from bot.app.db import Engine
from bot.app.messages import LeadCard, Message, RenderedCard, SummaryPost, TeamsDigest, platforms_of
from bot.clock import Clock
from bot.config import Settings, TeamConfig
from bot.links import LinkSigner, ack_url
from bot.outbox.engine import LEASE, Outbox, Refusal, Sending, Undeliverable
from bot.teams.cards import CHART_PLACEHOLDER, Card, digest_card, lead_card, summary_card
from bot.teams.messenger import TeamsMessenger, TeamsSendError
from metrics.routing import MessageKind, Platform
from metrics.views import LeadView

CHART_TTL = timedelta(days=14)


def chart_url(base_url: str, signer: LinkSigner, team_id: int, week: str, now: datetime) -> str:
    token = signer.sign("chart", {"t": team_id, "w": week}, now + CHART_TTL)
    return f"{base_url.rstrip('/')}/charts/{token}.png"


def _with_chart(card: Any, url: str) -> Any:
    """The card with its placeholder Image URL replaced by `url`."""
    if isinstance(card, dict):
        if card.get("type") == "Image" and card.get("url") == CHART_PLACEHOLDER:
            return {**card, "url": url}
        return {k: _with_chart(v, url) for k, v in card.items()}
    if isinstance(card, list):
        return [_with_chart(v, url) for v in card]
    return card


class TeamsSender:
    """Words each message as an Adaptive Card when it is delivered and posts it to its
    team's webhook; what the outbox engine hands the rows of platform "teams"."""

    platform = Platform.TEAMS

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        messenger: TeamsMessenger,
        *,
        base_url: str,
        signer: LinkSigner,
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.messenger = messenger
        self.base_url = base_url
        self.signer = signer
        self.clock = clock

    def refusal(self, err: Exception) -> Refusal | None:
        if not isinstance(err, TeamsSendError):
            return None
        if err.status == 429:
            return Refusal(str(err), wait=timedelta(seconds=err.retry_after or 1))
        return Refusal(str(err), permanent=err.permanent)

    def send(self, message: Message, sending: Sending) -> str:
        match message:
            case LeadCard(lead_id=lead_id):
                return self._lead_card(lead_id, sending)
            case TeamsDigest():
                return self._digest(message, sending)
            case SummaryPost(summary=summary):
                team, url = self._webhook(summary.team, MessageKind.SUMMARY)
                image = self._chart_url(team.name, summary.week)
                return self._post(sending, url, summary_card(summary, image, self.settings.locale))
            case RenderedCard():
                team, url = self._webhook(message.team, MessageKind.SUMMARY)
                image = self._chart_url(team.name, message.week)
                return self._post(sending, url, _with_chart(message.card, image))
            case _:
                raise Undeliverable(f"a {type(message).__name__} is not sent on Microsoft Teams")

    def _webhook(self, name: str, kind: MessageKind) -> tuple[TeamConfig, str]:
        team = self.settings.team(name)
        if team is None:
            raise Undeliverable(f'team "{name}" is not configured any more')
        if Platform.TEAMS not in platforms_of(team, kind) or not team.teams_webhook:
            raise Undeliverable(f"team {name} has no teams_webhook any more")
        return team, team.teams_webhook

    def _post(self, sending: Sending, url: str, card: Card) -> str:
        sending.pace(url)  # the pace is per webhook, i.e. per Teams channel
        return self.messenger.post(url, card)

    def _chart_url(self, team: str, week: str) -> str:
        """The chart image's link, signed now: it lives CHART_TTL from delivery."""
        team_id = deliveries.team_row_id(self.engine, team)
        if team_id is None:
            raise Undeliverable(f"team {team} has no row in the database")
        return chart_url(self.base_url, self.signer, team_id, week, self.clock.now())

    def _lead_card(self, lead_id: int, sending: Sending) -> str:
        lead = leads.lead_view(self.engine, lead_id)
        if lead is None:
            raise Undeliverable(f"lead {lead_id} does not exist")
        team, url = self._webhook(lead.team, MessageKind.LEAD_CARD)
        now = self.clock.now()
        # the link names the rep it is meant for, the owner; an unassigned lead's link names
        # nobody, and its page asks who is taking it
        link = ack_url(self.base_url, self.signer, lead.id, _owner_id(lead), now)
        card = lead_card(lead, {"ack": link}, team.timezone, self.settings.locale, now)
        return self._post(sending, url, card)

    def _digest(self, digest: TeamsDigest, sending: Sending) -> str:
        team, url = self._webhook(digest.team, MessageKind.DIGEST)
        reminders, escalations = digest.reminders, digest.escalations
        now = self.clock.now()
        found = deliveries.overdue(
            self.engine,
            now,
            team_names=[team.name],
            include=reminders + escalations,
            since=now - timedelta(days=team.nudges.lookback_days),
        )
        if found.total == 0:
            return "nothing-left"
        if reminders and escalations:
            audience = "both"
        else:
            audience = "escalation" if escalations else "reminder"
        links = {
            lead.id: ack_url(self.base_url, self.signer, lead.id, _owner_id(lead), now)
            for lead in found.leads
        }
        card = digest_card(
            found.leads,
            found.total,
            audience,
            team.name,
            links,
            team.timezone,
            self.settings.locale,
            now,
            escalated=frozenset(escalations),
        )
        return self._post(sending, url, card)


def teams_outbox(
    engine: Engine,
    settings: Settings,
    messenger: TeamsMessenger,
    *,
    base_url: str,
    signer: LinkSigner,
    clock: Clock,
    rng: random.Random | None = None,
    on_result: Callable[[str], None] | None = None,
    lease: timedelta = LEASE,
) -> Outbox:
    """The outbox of platform "teams", delivering through `messenger`."""
    sender = TeamsSender(engine, settings, messenger, base_url=base_url, signer=signer, clock=clock)
    return Outbox(engine, settings, sender, clock=clock, rng=rng, on_result=on_result, lease=lease)


def _owner_id(lead: LeadView) -> int | None:
    return lead.owner.id if lead.owner is not None else None

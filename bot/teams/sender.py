"""The Teams sender: the outbox's rows of platform "teams", on the rules every platform
shares (`bot.outbox.engine.OutboxSender`), paced per webhook URL.

A row names its team, never the webhook URL (a credential, and it may be rotated in the
environment while rows wait): the URL is read from the settings when the row is sent.

- `lead_card`: rendered from the database at delivery, so a lead acted on while the row
  waited shows what happened instead of buttons; its buttons open a signed one-click
  page at PUBLIC_BASE_URL/ack/TOKEN.
- `digest`: the team's overdue leads as they are at delivery (one acted on since the
  sweep is left out; nothing left, nothing sent), reminders and escalations together.
- `summary`: a card made when queued; its chart Image gets a URL signed at delivery
  (PUBLIC_BASE_URL/charts/TOKEN.png, valid CHART_TTL from then).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.app.messages import platforms_of
from bot.clock import Clock
from bot.config import Settings, TeamConfig
from bot.links import LinkSigner, ack_url
from bot.outbox.engine import LEASE, OutboxSender, Refusal, Undeliverable
from bot.teams.cards import CHART_PLACEHOLDER, Card, digest_card, lead_card
from bot.teams.messenger import TeamsMessenger, TeamsSendError
from metrics.routing import MessageKind, Platform
from metrics.views import LeadView
from storage import leads as store
from storage import nudges as nudge_store
from storage import reports

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


class TeamsDeliverer(OutboxSender):
    platform = "teams"

    def __init__(
        self,
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
    ) -> None:
        super().__init__(engine, settings, clock=clock, rng=rng, on_result=on_result, lease=lease)
        self.messenger = messenger
        self.base_url = base_url
        self.signer = signer

    def refusal(self, err: Exception) -> Refusal | None:
        if not isinstance(err, TeamsSendError):
            return None
        if err.status == 429:
            return Refusal(str(err), wait=timedelta(seconds=err.retry_after or 1))
        return Refusal(str(err), permanent=err.permanent)

    def _webhook(self, name: str, kind: MessageKind) -> tuple[TeamConfig, str]:
        team = self.settings.team(name)
        if team is None:
            raise Undeliverable(f'team "{name}" is not configured any more')
        if Platform.TEAMS not in platforms_of(team, kind) or not team.teams_webhook:
            raise Undeliverable(f"team {name} has no teams_webhook any more")
        return team, team.teams_webhook

    def _post(self, url: str, card: Card) -> str:
        self.pacer.take(url)  # the pace is per webhook, i.e. per Teams channel
        return self.messenger.post(url, card)

    def _send(self, payload: dict[str, Any]) -> str:
        kind = payload.get("kind")
        if kind == "lead_card":
            return self._lead_card(int(payload["lead_id"]))
        if kind == "digest":
            return self._digest(payload)
        if kind == "summary":
            return self._summary(payload)
        raise Undeliverable(f"unknown message kind {kind!r}")

    def _lead_card(self, lead_id: int) -> str:
        with self.engine.connect() as conn:
            lead = store.lead_view(conn, lead_id)
        if lead is None:
            raise Undeliverable(f"lead {lead_id} does not exist")
        team, url = self._webhook(lead.team, MessageKind.LEAD_CARD)
        now = self.clock.now()
        # the link names the rep it is meant for, the owner; an unassigned lead's link names
        # nobody, and its page asks who is taking it
        link = ack_url(self.base_url, self.signer, lead.id, _owner_id(lead), now)
        card = lead_card(lead, {"ack": link}, team.timezone, self.settings.locale, now)
        return self._post(url, card)

    def _digest(self, payload: dict[str, Any]) -> str:
        team, url = self._webhook(str(payload["team"]), MessageKind.DIGEST)
        reminders = [int(i) for i in payload.get("reminders", [])]
        escalations = [int(i) for i in payload.get("escalations", [])]
        now = self.clock.now()
        since = now - timedelta(days=team.nudges.lookback_days)
        with self.engine.connect() as conn:
            ids, total = nudge_store.overdue_leads(
                conn,
                now,
                team_names=[team.name],
                include=reminders + escalations,
                since=since,
            )
            views = store.lead_views(conn, ids)
        if total == 0:
            return "nothing-left"
        if reminders and escalations:
            audience = "both"
        else:
            audience = "escalation" if escalations else "reminder"
        leads = [views[i] for i in ids if i in views]
        links = {
            lead.id: ack_url(self.base_url, self.signer, lead.id, _owner_id(lead), now)
            for lead in leads
        }
        card = digest_card(
            leads,
            total,
            audience,
            team.name,
            links,
            team.timezone,
            self.settings.locale,
            now,
            escalated=frozenset(escalations),
        )
        return self._post(url, card)

    def _summary(self, payload: dict[str, Any]) -> str:
        team, url = self._webhook(str(payload["team"]), MessageKind.SUMMARY)
        week = str(payload["week"])
        with self.engine.connect() as conn:
            team_id = reports.team_id(conn, team.name)
        if team_id is None:
            raise Undeliverable(f"team {team.name} has no row in the database")
        image = chart_url(self.base_url, self.signer, team_id, week, self.clock.now())
        card: Card = _with_chart(payload["card"], image)
        return self._post(url, card)


def _owner_id(lead: LeadView) -> int | None:
    return lead.owner.id if lead.owner is not None else None

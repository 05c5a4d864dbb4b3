"""What every Slack listener shares: the `SlackContext` (database, settings, Slack
clients, clock, metrics) and `ack_at_once`, the synchronous part of every listener."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from slack_bolt import Ack

from bot.app.clicks import SNOOZE_MINUTES, ClickOutcome, Result
from bot.app.db import Engine
from bot.app.leads import lead_and_cards
from bot.clock import Clock
from bot.config import Settings
from bot.present.i18n import t
from bot.present.words import human_minutes
from bot.slack import blocks
from bot.slack.messenger import SlackMessenger
from bot.slack.people import Directory
from metrics.views import Person

log = logging.getLogger(__name__)


class SlackCounters(Protocol):
    """The Prometheus counters the listeners count in (the server's `Metrics` has them)."""

    handoffs: Counter
    clicks: Counter
    commands: Counter
    errors: Counter


@dataclass
class SlackContext:
    engine: Engine
    settings: Settings
    messenger: SlackMessenger
    directory: Directory
    clock: Clock
    metrics: SlackCounters
    wake_outbox: Callable[[], None] = field(default=lambda: None)
    dashboard_url: str | None = None  # None: the dashboard is off

    @property
    def locale(self) -> str:
        return self.settings.locale

    def tz_of(self, person: Person | None, team_name: str | None) -> ZoneInfo:
        if person is not None and person.timezone:
            try:
                return ZoneInfo(person.timezone)
            except (KeyError, ValueError):
                pass
        team = self.settings.team(team_name) if team_name else None
        return team.timezone if team else self.settings.timezone

    def refresh_cards(self, lead_id: int, also: tuple[str, str] | None = None) -> None:
        """Updates every posted card of the lead in place (and the message clicked)."""
        lead, places = lead_and_cards(self.engine, lead_id)
        if lead is None:
            return
        if also is not None and also not in places:
            places.append(also)
        for channel, ts in places:
            owner_tz = self.tz_of(lead.owner, lead.team)
            text, card = blocks.lead_card(lead, owner_tz, self.locale)
            try:
                self.messenger.update(channel, ts, text, card)
            except Exception:
                log.exception("could not update the card of lead %s in %s", lead_id, channel)

    def explain(self, outcome: ClickOutcome) -> str | None:  # noqa: PLR0911 (one per result)
        """What to tell a person whose click recorded nothing (None: it was recorded)."""
        loc = self.locale
        if outcome.result is Result.FORBIDDEN:
            return t(loc, "click.forbidden")
        if outcome.result is Result.ALREADY_EXCLUDED:
            return t(loc, "click.already_excluded")
        if outcome.result is Result.NO_SUCH_LEAD:
            return t(loc, "click.no_such_lead")
        if outcome.result is Result.ALREADY_ACTIONED and outcome.lead is not None:
            lead = outcome.lead
            moment = lead.first_action_at
            tz = self.tz_of(None, lead.team)
            return t(
                loc,
                "click.already_actioned",
                actor=blocks.who(lead.first_actor, loc),
                when=blocks.when(moment, tz) if moment else "",
            )
        if outcome.result is Result.SNOOZE_NOT_OFFERED:
            choices = ", ".join(human_minutes(m, loc) for m in SNOOZE_MINUTES)
            return t(loc, "click.snooze_not_offered", choices=choices)
        if outcome.result is Result.OWNER_OUTSIDE_TEAM and outcome.lead is not None:
            return t(loc, "click.owner_outside_team", team=outcome.lead.team)
        if outcome.result is Result.BAD_REQUEST:
            return t(loc, "click.failed")
        return None


def ack_at_once(ack: Ack) -> None:
    """The whole of a listener's synchronous part: the answer Slack waits for."""
    ack()

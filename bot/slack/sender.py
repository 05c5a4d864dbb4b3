"""The Slack sender: the outbox's rows of platform "slack", on the rules every platform
shares (`bot.outbox.engine.Outbox`), paced per channel.

The outbox's Web API client has no retry handlers of its own (serve builds it so):
slack_sdk's 429 handler sleeps in the sending thread for Retry-After, and its 5xx handler
retries at once, both of which the outbox does better with its own clock and backoff."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot.app import deliveries, leads
from bot.app.db import Engine
from bot.app.messages import Chart, Digest, LeadCard, Message, Post, SummaryPost, platforms_of
from bot.clock import Clock
from bot.config import Settings
from bot.outbox.engine import LEASE, Outbox, Refusal, Sending, Undeliverable
from bot.present.chart import trend_png
from bot.slack import blocks
from bot.slack.messenger import SlackMessenger
from bot.slack.people import Directory
from bot.slack.summary_blocks import summary_blocks
from metrics.routing import MessageKind, Platform
from metrics.views import Person

# Slack errors that the same request will meet again however often it is sent
PERMANENT = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_not_found",
        "users_not_found",
        "cannot_dm_bot",
        "user_disabled",
        "account_inactive",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
    }
)

log = logging.getLogger(__name__)


def _status(err: SlackApiError) -> int | None:
    code = getattr(err.response, "status_code", None)
    return code if isinstance(code, int) else None


def _retry_after(err: SlackApiError) -> timedelta:
    headers = getattr(err.response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after") or "1"
    if isinstance(value, list):
        value = value[0]
    try:
        seconds = max(1, int(value))
    except ValueError:
        seconds = 1
    return timedelta(seconds=seconds)


class SlackSender:
    """Words each message for Slack when it is delivered and posts it; what the outbox
    engine (bot.outbox.engine) hands the rows of platform "slack"."""

    platform = Platform.SLACK

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        messenger: SlackMessenger,
        directory: Directory,
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.messenger = messenger
        self.directory = directory
        self.clock = clock

    def refusal(self, err: Exception) -> Refusal | None:
        if not isinstance(err, SlackApiError):
            return None
        error = f"{_status(err) or ''} {err.response.get('error', '')}".strip()
        if _status(err) == 429:
            return Refusal(f"SlackApiError: {error}", wait=_retry_after(err))
        permanent = err.response.get("error") in PERMANENT
        return Refusal(f"SlackApiError: {error}", permanent=permanent)

    def send(self, message: Message, sending: Sending) -> str:
        match message:
            case LeadCard(lead_id=lead_id, to=to):
                return self._lead_card(lead_id, to or "channel", sending)
            case Digest():
                return self._digest(message, sending)
            case SummaryPost(summary=summary):
                text, shown = summary_blocks(summary, self.settings.locale)
                return self._post(sending, sending.target, text, shown)
            case Chart():
                return self._chart(message, sending)
            case Post():
                card = None if message.blocks is None else [dict(b) for b in message.blocks]
                return self._post(sending, message.channel, message.text, card, message.thread_ts)
            case _:
                raise Undeliverable(f"a {type(message).__name__} is not sent on Slack")

    def _post(
        self,
        sending: Sending,
        target: str,
        text: str,
        card: list[dict[str, Any]] | None,
        thread_ts: str | None = None,
    ) -> str:
        sending.pace(target)
        channel, ts = self.messenger.post(target, text, card, thread_ts, key=sending.key)
        return f"{channel}/{ts}"

    def _chart(self, chart: Chart, sending: Sending) -> str:
        # drawn here, not when queued: the outbox keeps the series, never an image
        png = trend_png(list(chart.trend))
        sending.pace(chart.channel)
        file_id = self.messenger.upload_png(
            chart.channel, chart.filename, png, chart.title, chart.initial_comment
        )
        return f"{chart.channel}/{file_id}"

    def _lead_card(self, lead_id: int, to: str, sending: Sending) -> str:
        lead = leads.lead_view(self.engine, lead_id)
        if lead is None:
            raise Undeliverable(f"lead {lead_id} does not exist")
        team = self.settings.team(lead.team)
        if team is None:
            raise Undeliverable(f'team "{lead.team}" is not configured any more')
        if Platform.SLACK not in platforms_of(team, MessageKind.LEAD_CARD):
            raise Undeliverable(f"team {team.name} is not on Slack (only on Microsoft Teams)")
        target: str | None = None
        tz = team.timezone
        if to == "owner" and lead.owner is not None:
            person = self.directory.by_email(lead.owner.email)
            if person is not None and person.slack_user_id:
                target = person.slack_user_id
                tz = _zone(person.timezone) or tz
                lead = leads.lead_view(self.engine, lead_id) or lead
        if target is None:
            if not team.slack_channel:
                raise Undeliverable(
                    f"lead {lead_id}: its owner is not in Slack and team {team.name} has no "
                    "slack_channel to post it in"
                )
            target = team.slack_channel
        text, card = blocks.lead_card(lead, tz, self.settings.locale)
        ref = self._post(sending, target, text, card)
        if target.startswith(("U", "W")) and lead.owner is not None:
            deliveries.remember_dm_channel(self.engine, lead.owner.id, ref.partition("/")[0])
        return ref

    def _digest(self, digest: Digest, sending: Sending) -> str:
        """Renders what is overdue now (a lead acted on since the sweep is left out);
        posts nothing when nothing is left."""
        audience, to = digest.audience, digest.to
        team_names = list(digest.teams)
        teams = [t for t in (self.settings.team(n) for n in team_names) if t is not None]
        if not teams:
            raise Undeliverable(f"teams {team_names} are not configured any more")
        teams = [t for t in teams if Platform.SLACK in platforms_of(t, MessageKind.DIGEST)]
        if not teams:
            raise Undeliverable(f"teams {team_names} are not on Slack (only on Microsoft Teams)")
        now = self.clock.now()
        since = now - timedelta(days=max(t.nudges.lookback_days for t in teams))
        tz = teams[0].timezone
        owner_id: int | None = None
        person: Person | None = None  # the rep or manager a DM goes to
        target = to
        if audience in ("rep", "manager"):
            person = self.directory.by_email(to)
            if person is None or not person.slack_user_id:
                raise Undeliverable(f"{to} is not in this Slack workspace")
            target = person.slack_user_id
            tz = _zone(person.timezone) or tz
            if audience == "rep":
                owner_id = person.id
            target = deliveries.dm_channel(self.engine, person) or target
        found = deliveries.overdue(
            self.engine,
            now,
            owner_id=owner_id,
            team_names=() if audience == "rep" else team_names,
            include=digest.lead_ids,
            since=since,
        )
        if found.total == 0:
            return "nothing-left"
        text, card = blocks.digest(
            audience,
            found.leads,
            found.total,
            teams=team_names,
            tz=tz,
            locale=self.settings.locale,
            now=now,
        )
        ref = self._post(sending, target, text, card)
        if person is not None and target.startswith(("U", "W")):
            deliveries.remember_dm_channel(self.engine, person.id, ref.partition("/")[0])
        return ref


def slack_outbox(
    engine: Engine,
    settings: Settings,
    messenger: SlackMessenger,
    directory: Directory,
    *,
    clock: Clock,
    rng: random.Random | None = None,
    on_result: Callable[[str], None] | None = None,
    lease: timedelta = LEASE,
    monotonic: Callable[[], float] = time.monotonic,
) -> Outbox:
    """The outbox of platform "slack", delivering through `messenger`."""
    sender = SlackSender(engine, settings, messenger, directory, clock)
    return Outbox(
        engine,
        settings,
        sender,
        clock=clock,
        rng=rng,
        on_result=on_result,
        lease=lease,
        monotonic=monotonic,
    )


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return None

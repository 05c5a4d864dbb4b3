"""The Slack sender: the outbox's rows of platform "slack", on the rules every platform
shares (`bot.outbox.engine.OutboxSender`), paced per channel.

The outbox's Web API client has no retry handlers of its own (serve builds it so):
slack_sdk's 429 handler sleeps in the sending thread for Retry-After, and its 5xx handler
retries at once, both of which the outbox does better with its own clock and backoff."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from bot.app.messages import platforms_of
from bot.clock import Clock
from bot.config import Settings
from bot.outbox.engine import LEASE, OutboxSender, Refusal, Undeliverable
from bot.slack import blocks
from bot.slack.messenger import SlackMessenger
from bot.slack.people import Directory
from metrics.routing import MessageKind, Platform
from storage import leads as store
from storage import nudges as nudge_store
from storage.engine import writing

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


class Deliverer(OutboxSender):
    """The Slack sender."""

    platform = "slack"

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        messenger: SlackMessenger,
        directory: Directory,
        *,
        clock: Clock,
        rng: random.Random | None = None,
        on_result: Callable[[str], None] | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        super().__init__(engine, settings, clock=clock, rng=rng, on_result=on_result, lease=lease)
        self.messenger = messenger
        self.directory = directory

    def refusal(self, err: Exception) -> Refusal | None:
        if not isinstance(err, SlackApiError):
            return None
        error = f"{_status(err) or ''} {err.response.get('error', '')}".strip()
        if _status(err) == 429:
            return Refusal(f"SlackApiError: {error}", wait=_retry_after(err))
        permanent = err.response.get("error") in PERMANENT
        return Refusal(f"SlackApiError: {error}", permanent=permanent)

    # ------------------------------------------------------------ what each kind does

    def _send(self, payload: dict[str, Any]) -> str:
        kind = payload.get("kind")
        if kind == "lead_card":
            return self._lead_card(int(payload["lead_id"]), str(payload["to"]))
        if kind == "digest":
            return self._digest(payload)
        if kind == "chart":
            return self._chart(payload)
        if kind == "post":
            return self._post(
                str(payload["channel"]),
                str(payload["text"]),
                payload.get("blocks"),
                payload.get("thread_ts"),
            )
        raise Undeliverable(f"unknown message kind {kind!r}")

    def _post(
        self,
        target: str,
        text: str,
        card: list[dict[str, Any]] | None,
        thread_ts: str | None = None,
    ) -> str:
        self.pacer.take(target)
        channel, ts = self.messenger.post(target, text, card, thread_ts, key=self._key)
        return f"{channel}/{ts}"

    def _chart(self, payload: dict[str, Any]) -> str:
        # drawn here, not when queued: the outbox keeps the series, never an image
        from bot.present.chart import trend_png
        from metrics.summary import TrendPoint

        channel = str(payload["channel"])
        png = trend_png([TrendPoint.from_dict(p) for p in payload["trend"]])
        self.pacer.take(channel)
        file_id = self.messenger.upload_png(
            channel,
            str(payload["filename"]),
            png,
            str(payload["title"]),
            payload.get("initial_comment"),
        )
        return f"{channel}/{file_id}"

    def _lead_card(self, lead_id: int, to: str) -> str:
        with self.engine.connect() as conn:
            lead = store.lead_view(conn, lead_id)
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
                with self.engine.connect() as conn:
                    refreshed = store.lead_view(conn, lead_id)
                lead = refreshed or lead
        if target is None:
            if not team.slack_channel:
                raise Undeliverable(
                    f"lead {lead_id}: its owner is not in Slack and team {team.name} has no "
                    "slack_channel to post it in"
                )
            target = team.slack_channel
        text, card = blocks.lead_card(lead, tz, self.settings.locale)
        ref = self._post(target, text, card)
        if target.startswith(("U", "W")) and lead.owner is not None:
            with writing(self.engine) as conn:
                store.remember_dm_channel(conn, lead.owner.id, ref.partition("/")[0])
        return ref

    def _digest(self, payload: dict[str, Any]) -> str:
        """Renders what is overdue now (a lead acted on since the sweep is left out);
        posts nothing when nothing is left."""
        audience, to = str(payload["audience"]), str(payload["to"])
        team_names = [str(n) for n in payload["teams"]]
        teams = [t for t in (self.settings.team(n) for n in team_names) if t is not None]
        if not teams:
            raise Undeliverable(f"teams {team_names} are not configured any more")
        teams = [t for t in teams if Platform.SLACK in platforms_of(t, MessageKind.DIGEST)]
        if not teams:
            raise Undeliverable(f"teams {team_names} are not on Slack (only on Microsoft Teams)")
        now = self.clock.now()
        since = now - timedelta(days=max(t.nudges.lookback_days for t in teams))
        include = [int(i) for i in payload["lead_ids"]]
        tz = teams[0].timezone
        owner_id: int | None = None
        target = to
        if audience in ("rep", "manager"):
            person = self.directory.by_email(to)
            if person is None or not person.slack_user_id:
                raise Undeliverable(f"{to} is not in this Slack workspace")
            target = person.slack_user_id
            tz = _zone(person.timezone) or tz
            if audience == "rep":
                owner_id = person.id
            with self.engine.connect() as conn:
                target = store.dm_channel(conn, person.id) or target
        with self.engine.connect() as conn:
            ids, total = nudge_store.overdue_leads(
                conn,
                now,
                owner_id=owner_id,
                team_names=() if audience == "rep" else team_names,
                include=include,
                since=since,
            )
            views = store.lead_views(conn, ids)
        if total == 0:
            return "nothing-left"
        text, card = blocks.digest(
            audience,
            [views[i] for i in ids if i in views],
            total,
            teams=team_names,
            tz=tz,
            locale=self.settings.locale,
            now=now,
        )
        ref = self._post(target, text, card)
        if audience != "channel" and target.startswith(("U", "W")):
            with writing(self.engine) as conn:
                person = store.person_by_email(conn, to)
                if person is not None:
                    store.remember_dm_channel(conn, person.id, ref.partition("/")[0])
        return ref


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return None

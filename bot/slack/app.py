"""The Bolt app: built from a SlackContext, listeners registered from `listeners/`.

Every listener is an `ack` function that returns at once plus a lazy function that does
the work on Bolt's thread pool, with `process_before_response=True`: the HTTP answer
goes back as soon as `ack` returns, so Slack's 3-second limit is met whatever the
database or the Web API is doing.

Why not the usual `process_before_response=False` with `ack()` first in the listener:
there Bolt starts the listener on its pool and polls for the ack every 10 ms
(`time.sleep(0.01)` in its thread runner), so each answer waits for a free pool thread
and then a poll tick; under 50 concurrent clicks that was most of the latency
(docs/benchmarks.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.clock import Clock
from bot.config import Settings
from bot.http.metrics import Metrics
from bot.i18n import t
from bot.leads import SNOOZE_MINUTES, ClickOutcome, Result
from bot.slack import blocks
from bot.slack.messenger import SlackMessenger
from bot.slack.people import Directory
from storage import leads as store

log = logging.getLogger(__name__)


@dataclass
class SlackContext:
    engine: Engine
    settings: Settings
    messenger: SlackMessenger
    directory: Directory
    clock: Clock
    metrics: Metrics
    wake_outbox: Callable[[], None] = field(default=lambda: None)

    @property
    def locale(self) -> str:
        return self.settings.locale

    def tz_of(self, person: store.Person | None, team_name: str | None) -> ZoneInfo:
        if person is not None and person.timezone:
            try:
                return ZoneInfo(person.timezone)
            except (KeyError, ValueError):
                pass
        team = self.settings.team(team_name) if team_name else None
        return team.timezone if team else self.settings.timezone

    def refresh_cards(self, lead_id: int, also: tuple[str, str] | None = None) -> None:
        """Updates every posted card of the lead in place (and the message clicked)."""
        with self.engine.connect() as conn:
            lead = store.lead_view(conn, lead_id)
            places = store.card_messages(conn, lead_id)
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
            choices = ", ".join(blocks.human_minutes(m, loc) for m in SNOOZE_MINUTES)
            return t(loc, "click.snooze_not_offered", choices=choices)
        if outcome.result is Result.OWNER_OUTSIDE_TEAM and outcome.lead is not None:
            return t(loc, "click.owner_outside_team", team=outcome.lead.team)
        if outcome.result is Result.BAD_REQUEST:
            return t(loc, "click.failed")
        return None


def ack_at_once(ack: Ack) -> None:
    """The whole of a listener's synchronous part: the answer Slack waits for."""
    ack()


def build_app(
    ctx: SlackContext,
    signing_secret: str,
    executor: ThreadPoolExecutor,
    *,
    authorize: Callable[[], AuthorizeResult | None] | None = None,
    **bolt_options: Any,
) -> App:
    """`authorize`: who the bot is, from an auth.test made elsewhere (bot.slack.readiness).
    Given a client with a token, Bolt calls auth.test itself, at construction (which fails
    the start while Slack is down) or at its first request (one more call to fail)."""
    from bot.slack.listeners import actions, commands, events, views

    client = ctx.messenger.client
    if authorize is not None:
        # the same client without its token: Bolt gives each request a copy with the token
        # of the AuthorizeResult, and the same base URL, timeout and retry handlers
        bolt_options["authorize"] = authorize
        client = WebClient(
            base_url=client.base_url, timeout=client.timeout, retry_handlers=client.retry_handlers
        )
    app = App(
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        listener_executor=executor,
        **bolt_options,
    )

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        # one place for failures: logged with the request type, never the request's secrets
        log.error("listener failed on a %s request: %r", body.get("type"), error, exc_info=error)
        ctx.metrics.errors.inc()
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        if user and channel:
            try:
                ctx.messenger.ephemeral(channel, user, t(ctx.locale, "click.failed"))
            except Exception:
                log.exception("could not tell the user about the failure")

    commands.register(app, ctx)
    actions.register(app, ctx)
    views.register(app, ctx)
    events.register(app, ctx)
    return app

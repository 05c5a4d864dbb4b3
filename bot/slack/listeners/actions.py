"""Buttons on lead cards: contacted (five ways), take it, reject (a modal), snooze,
reassign. Each click becomes one `bot.app.clicks.act` call; the card then updates in place."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, Respond

from bot.app.clicks import Result, role_of
from bot.app.leads import lead_view
from bot.links import is_row_id
from bot.present.i18n import t
from bot.slack import blocks
from bot.slack.context import SlackContext, ack_at_once
from bot.slack.ids import CONTACTED, ActionId
from bot.slack.listeners.common import perform, where
from metrics.model import ActionKind, ContactChannel

log = logging.getLogger(__name__)
# buttons whose answer to Slack is empty and whose work needs no `trigger_id` (which
# expires 3 s after the click): the server answers them before Bolt sees them
LATER = frozenset({ActionId.TAKE, ActionId.SNOOZE, ActionId.REASSIGN})


def answers_later(action_id: str) -> bool:
    return action_id in LATER or CONTACTED.match(action_id) is not None


class MalformedClickError(ValueError):
    """A signed click whose value is not one our cards send (an old card, a hand-made
    request): nothing is recorded, and the person is told so."""


def _lead_id(text: object) -> int:
    """A lead id as a button carries it: decimal digits naming a possible row."""
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 19:
        value = int(text)
        if is_row_id(value):
            return value
    raise MalformedClickError("not a lead id")


def _text(container: object, key: str) -> str:
    value = container.get(key) if isinstance(container, dict) else None
    if not isinstance(value, str):
        raise MalformedClickError(f"no {key}")
    return value


def _snooze(action: dict[str, Any]) -> tuple[int, int | None]:
    """(lead id, minutes) of a snooze menu's choice, `"{lead id}:{minutes}"`; minutes None
    when not a whole number. Whether a length is offered is the use case's to judge."""
    lead_text, _, minutes = _text(action.get("selected_option"), "value").partition(":")
    whole = minutes.isascii() and minutes.isdigit() and len(minutes) <= 9
    return _lead_id(lead_text), int(minutes) if whole else None


def _guarded(
    ctx: SlackContext, kind: ActionKind, listener: Callable[[dict[str, Any], dict[str, Any]], None]
) -> Callable[[dict[str, Any], dict[str, Any], Respond], None]:
    """`listener`, telling the person (privately) that nothing was recorded when the click's
    value cannot be read, and counting it as `ignorerate_clicks_total{result="malformed"}`."""

    def run(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        try:
            listener(body, action)
        except MalformedClickError as err:
            log.info("a %s click with a malformed value: %s", kind.value, err)
            ctx.metrics.clicks.labels(kind.value, "malformed").inc()
            text = t(ctx.locale, "click.malformed")
            channel, _ = where(body)
            user = (body.get("user") or {}).get("id")
            if channel and user:
                ctx.messenger.ephemeral(channel, user, text)
            elif body.get("response_url"):
                respond(text=text, response_type="ephemeral", replace_original=False)

    run.__name__ = listener.__name__  # Bolt tells lazy listeners apart by name
    return run


def register(app: App, ctx: SlackContext) -> None:
    def contacted(body: dict[str, Any], action: dict[str, Any]) -> None:
        how = ContactChannel(action["action_id"].rsplit(".", 1)[1])
        lead_id = _lead_id(action.get("value"))
        outcome = perform(ctx, body, action, lead_id, kind=ActionKind.CONTACTED, channel=how)
        if outcome is not None and outcome.took_over and outcome.lead is not None:
            channel, _ = where(body)
            if channel:
                ctx.messenger.ephemeral(
                    channel,
                    body["user"]["id"],
                    t(ctx.locale, "click.took_over"),
                )

    def take(body: dict[str, Any], action: dict[str, Any]) -> None:
        lead_id = _lead_id(action.get("value"))
        person = ctx.directory.by_slack_id(body["user"]["id"])
        perform(
            ctx,
            body,
            action,
            lead_id,
            kind=ActionKind.REASSIGNED,
            new_owner_email=person.email if person else None,
        )

    def snooze(body: dict[str, Any], action: dict[str, Any]) -> None:
        lead_id, length = _snooze(action)
        # the length is the use case's to judge: one not offered is refused there,
        # privately, with nothing recorded
        outcome = perform(
            ctx, body, action, lead_id, kind=ActionKind.SNOOZED, snooze_minutes=length
        )
        channel, _ = where(body)
        until = outcome.lead.snoozed_until if outcome and outcome.lead else None
        if outcome is not None and outcome.result is Result.RECORDED and until and channel:
            assert outcome.lead is not None
            tz = ctx.tz_of(outcome.lead.owner, outcome.lead.team)
            ctx.messenger.ephemeral(
                channel,
                body["user"]["id"],
                t(
                    ctx.locale,
                    "click.snoozed",
                    until=blocks.when(until, tz),
                    due=blocks.when(outcome.lead.due_at, tz),
                ),
            )

    def reassign(body: dict[str, Any], action: dict[str, Any]) -> None:
        lead_id = _lead_id(_text(action, "block_id").partition(":")[2].partition(":")[0])
        new_owner = ctx.directory.by_slack_id(_text(action, "selected_user"))
        if new_owner is None:
            channel, _ = where(body)
            if channel:
                ctx.messenger.ephemeral(
                    channel, body["user"]["id"], t(ctx.locale, "click.reassign_unknown")
                )
            return
        perform(
            ctx, body, action, lead_id, kind=ActionKind.REASSIGNED, new_owner_email=new_owner.email
        )

    def reject(body: dict[str, Any], action: dict[str, Any]) -> None:
        lead_id = _lead_id(action.get("value"))
        user_id = body["user"]["id"]
        channel, ts = where(body)
        person = ctx.directory.by_slack_id(user_id)
        lead = lead_view(ctx.engine, lead_id)
        team = ctx.settings.team(lead.team) if lead else None
        allowed = (
            person is not None
            and lead is not None
            and team is not None
            and role_of(ctx.settings, team, lead.owner.email if lead.owner else None, person.email)
            is not None
        )
        if not allowed or lead is None:
            if channel:
                reason = "click.forbidden" if lead else "click.no_such_lead"
                ctx.messenger.ephemeral(channel, user_id, t(ctx.locale, reason))
            return
        from_digest = str(action.get("block_id", "")).startswith("digest:")
        metadata = json.dumps(
            {"lead": lead_id, "channel": channel, "ts": ts, "digest": from_digest}
        )
        view = blocks.reject_modal(lead, ctx.settings.reject_reasons, ctx.locale, metadata)
        ctx.messenger.open_view(body["trigger_id"], view)

    listeners: list[tuple[str | re.Pattern[str], ActionKind, Any]] = [
        (CONTACTED, ActionKind.CONTACTED, contacted),
        (ActionId.TAKE, ActionKind.REASSIGNED, take),
        (ActionId.SNOOZE, ActionKind.SNOOZED, snooze),
        (ActionId.REASSIGN, ActionKind.REASSIGNED, reassign),
        (ActionId.REJECT, ActionKind.REJECTED, reject),
    ]
    for action_id, kind, listener in listeners:
        app.action(action_id)(ack=ack_at_once, lazy=[_guarded(ctx, kind, listener)])

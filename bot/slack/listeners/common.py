"""What more than one listener does: record a click and answer the person who made it
(`perform`, for buttons and the reject modal), and publish a person's App Home tab."""

from __future__ import annotations

from typing import Any

from bot.app.clicks import Click, ClickOutcome, Result, act
from bot.app.leads import home_leads
from bot.app.reports import report
from bot.present.i18n import t
from bot.slack import blocks
from bot.slack.context import SlackContext
from metrics.model import ActionKind
from metrics.views import LeadView

HOME_LEADS = 20


def where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, message ts) of the message clicked; (None, None) on the Home tab."""
    container = body.get("container") or {}
    if container.get("type") == "message":
        return container.get("channel_id"), container.get("message_ts")
    return None, None


def click_key(body: dict[str, Any], action: dict[str, Any]) -> str:
    return f"slack:{body['user']['id']}:{action['action_id']}:{action.get('action_ts', '')}"


def perform(
    ctx: SlackContext, body: dict[str, Any], action: dict[str, Any], lead_id: int, **what: Any
) -> ClickOutcome | None:
    """Records one click and answers the person; None if we could not tell who they are."""
    user_id = body["user"]["id"]
    channel, ts = where(body)
    person = ctx.directory.by_slack_id(user_id)
    kind: ActionKind = what.pop("kind")
    if person is None:
        if channel:
            ctx.messenger.ephemeral(channel, user_id, t(ctx.locale, "click.unknown_user"))
        return None
    now = ctx.clock.now()
    outcome = act(
        ctx.engine,
        ctx.settings,
        Click(
            lead_id=lead_id,
            actor_email=person.email,
            kind=kind,
            at=now,
            key=click_key(body, action),
            via="slack",
            **what,
        ),
        now,
    )
    ctx.metrics.clicks.labels(kind.value, outcome.result.value).inc()
    # a click in a digest amends the digest; elsewhere the message clicked is the card
    from_digest = str(action.get("block_id", "")).startswith("digest:")
    clicked = (channel, ts) if channel and ts and not from_digest else None
    if from_digest and outcome.lead is not None:
        amend_digest(ctx, body, outcome.lead)
    if outcome.result in (Result.RECORDED, Result.REPEATED):
        ctx.refresh_cards(lead_id, clicked)
        if channel is None:
            publish_home(ctx, user_id)
        return outcome
    message = ctx.explain(outcome)
    if message and channel:
        ctx.messenger.ephemeral(channel, user_id, message)
    if outcome.result is Result.ALREADY_ACTIONED:
        ctx.refresh_cards(lead_id, clicked)
    return outcome


def amend_digest(ctx: SlackContext, body: dict[str, Any], lead: LeadView) -> None:
    """Replaces the lead's buttons in the digest clicked by what happened to it; the
    other leads of the digest keep theirs."""
    channel, ts = where(body)
    message = body.get("message") or {}
    status = blocks.lead_status(lead, ctx.locale)
    if status is None or not channel or not ts or not message.get("blocks"):
        return
    amended = blocks.digest_resolved(message["blocks"], lead.id, status)
    ctx.messenger.update(channel, ts, str(message.get("text", "")), amended)


def publish_home(ctx: SlackContext, user_id: str) -> None:
    person = ctx.directory.by_slack_id(user_id)
    if person is None:
        view = {"type": "home", "blocks": [blocks.section(t(ctx.locale, "click.unknown_user"))]}
        ctx.messenger.publish_home(user_id, view)
        return
    now = ctx.clock.now()
    managed = [
        tm
        for tm in ctx.settings.teams
        if person.email in tm.managers or person.email in ctx.settings.admins
    ]
    shown = managed[:5]
    home = home_leads(ctx.engine, person.id, HOME_LEADS, [team.name for team in shown], now)
    manager = [
        (report(ctx.engine, ctx.settings, "this-week", now, team.name), home.overdue[team.name])
        for team in shown
    ]
    tz = ctx.tz_of(person, None)
    ctx.messenger.publish_home(
        user_id, blocks.home_view(home.leads, home.total, tz, ctx.locale, manager)
    )

"""Events: the App Home tab, and handoffs announced in configured Slack channels."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import App

from bot.i18n import t
from bot.leads import enqueue, receive_handoffs
from bot.services import report
from bot.slack import blocks
from bot.slack.app import SlackContext, ack_at_once
from bot.slack.parsing import read_handoff_message
from storage import leads as store
from storage.engine import writing
from storage.reports import team_id as find_team_id

log = logging.getLogger(__name__)
HOME_LEADS = 20


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
    sections = []
    with ctx.engine.connect() as conn:
        ids, total = store.open_lead_ids(conn, person.id, HOME_LEADS)
        views = store.lead_views(conn, ids)
        for team in managed[:5]:
            team_id = find_team_id(conn, team.name)
            holders = store.overdue_by_owner(conn, team_id, now) if team_id is not None else []
            sections.append((team, holders))
    manager = [
        (report(ctx.engine, ctx.settings, "this-week", now, team.name), holders)
        for team, holders in sections
    ]
    tz = ctx.tz_of(person, None)
    leads = [views[i] for i in ids if i in views]
    ctx.messenger.publish_home(user_id, blocks.home_view(leads, total, tz, ctx.locale, manager))


def register(app: App, ctx: SlackContext) -> None:
    def home(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            publish_home(ctx, event["user"])

    def message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("subtype") in ("message_changed", "message_deleted", "channel_join"):
            return
        found = ctx.settings.handoff_channel(event.get("channel"))
        if found is None:
            return
        team, channel = found
        read = read_handoff_message(event, team, channel)
        if read is None:
            return
        now = ctx.clock.now()
        event_id = body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}"
        if read.lead is None:
            # the reply goes through the outbox, in the transaction that marks the event
            # seen: a retried event neither replies twice nor loses the reply
            problems = "; ".join(str(p) for p in read.problems)
            with writing(ctx.engine) as conn:
                if not store.first_delivery(conn, event_id, now):
                    ctx.metrics.handoffs.labels("slack", "repeated").inc()
                    return
                enqueue(
                    conn,
                    f"reply:{event_id}",
                    {
                        "kind": "post",
                        "channel": event["channel"],
                        "thread_ts": event.get("ts"),
                        "text": t(ctx.locale, "handoff.unreadable", problems=problems),
                    },
                    now,
                )
            ctx.metrics.handoffs.labels("slack", "refused").inc()
            ctx.wake_outbox()
            return
        lead = read.lead
        if read.owner_slack_id and not lead.owner_email:
            person = ctx.directory.by_slack_id(read.owner_slack_id)
            if person is not None:
                lead = replace(lead, owner_email=person.email)
        # a lead is idempotent on (source, external_id): a retried event adds nothing
        result = receive_handoffs(ctx.engine, ctx.settings, [lead], now)
        ctx.metrics.handoffs.labels("slack", "new" if result.new else "known").inc()
        ctx.wake_outbox()

    app.event("app_home_opened")(ack=ack_at_once, lazy=[home])
    app.event("message")(ack=ack_at_once, lazy=[message])

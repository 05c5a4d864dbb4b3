"""Handoffs announced in configured Slack channels: each message becomes a lead, or a
threaded reply naming what could not be read."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import App

from bot.app.handoffs import receive_handoffs, refuse_handoff
from bot.present.i18n import t
from bot.slack.context import SlackContext, ack_at_once
from bot.slack.parsing import read_handoff_message

log = logging.getLogger(__name__)


def register(app: App, ctx: SlackContext) -> None:
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
            text = t(ctx.locale, "handoff.unreadable", problems=problems)
            refused = refuse_handoff(
                ctx.engine,
                event_id,
                channel=event["channel"],
                thread_ts=event.get("ts"),
                text=text,
                now=now,
            )
            if not refused:
                ctx.metrics.handoffs.labels("slack", "repeated").inc()
                return
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

    app.event("message")(ack=ack_at_once, lazy=[message])

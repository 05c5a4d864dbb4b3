"""The reject modal's submission."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App

from bot.present.i18n import t
from bot.slack.context import SlackContext
from bot.slack.ids import REJECT_VIEW, ActionId
from bot.slack.listeners.common import perform
from metrics.model import ActionKind


def _selected(view: dict[str, Any]) -> dict[str, Any] | None:
    chosen: dict[str, Any] | None = (
        view["state"]["values"].get("reason", {}).get("value", {}).get("selected_option")
    )
    return chosen


def register(app: App, ctx: SlackContext) -> None:
    def validate(ack: Ack, view: dict[str, Any]) -> None:
        if _selected(view):
            ack()
        else:
            ack(response_action="errors", errors={"reason": t(ctx.locale, "reject.choose")})

    def rejected(body: dict[str, Any], view: dict[str, Any]) -> None:
        selected = _selected(view)
        if not selected:
            return
        meta = json.loads(view.get("private_metadata") or "{}")
        # answer in the conversation the card was in, as if the click happened there
        container = (
            {"type": "message", "channel_id": meta["channel"], "message_ts": meta["ts"]}
            if meta.get("channel")
            else {"type": "view"}
        )
        clicked = {**body, "container": container}
        action = {
            "action_id": ActionId.REJECT.value,
            "action_ts": view.get("id", "") + view.get("hash", ""),
            # from a digest: the message in metadata is the digest, not a card to replace
            "block_id": f"digest:{meta['lead']}" if meta.get("digest") else "",
        }
        perform(
            ctx,
            clicked,
            action,
            int(meta["lead"]),
            kind=ActionKind.REJECTED,
            reason=selected["value"],
        )

    app.view(REJECT_VIEW)(ack=validate, lazy=[rejected])

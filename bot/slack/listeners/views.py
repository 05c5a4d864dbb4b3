"""The reject modal's submission."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App

from bot.slack.app import SlackContext
from bot.slack.listeners.actions import perform
from metrics.model import ActionKind


def register(app: App, ctx: SlackContext) -> None:
    @app.view("lead.reject")
    def rejected(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        selected = view["state"]["values"].get("reason", {}).get("value", {}).get("selected_option")
        if not selected:
            ack(response_action="errors", errors={"reason": "Choose a reason / 理由を選択"})
            return
        ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        # answer in the conversation the card was in, as if the click happened there
        container = (
            {"type": "message", "channel_id": meta["channel"], "message_ts": meta["ts"]}
            if meta.get("channel")
            else {"type": "view"}
        )
        clicked = {**body, "container": container}
        action = {
            "action_id": "lead.reject",
            "action_ts": view.get("id", "") + view.get("hash", ""),
        }
        perform(
            ctx,
            clicked,
            action,
            int(meta["lead"]),
            kind=ActionKind.REJECTED,
            reason=selected["value"],
        )

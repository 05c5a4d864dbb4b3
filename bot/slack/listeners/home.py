"""The App Home tab, published whenever a person opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.context import SlackContext, ack_at_once
from bot.slack.listeners.common import publish_home


def register(app: App, ctx: SlackContext) -> None:
    def home(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            publish_home(ctx, event["user"])

    app.event("app_home_opened")(ack=ack_at_once, lazy=[home])

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
from typing import Any

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot.present.i18n import t
from bot.slack.context import SlackContext
from bot.slack.listeners import actions, commands, handoffs, home, views

log = logging.getLogger(__name__)


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
    home.register(app, ctx)
    handoffs.register(app, ctx)
    return app

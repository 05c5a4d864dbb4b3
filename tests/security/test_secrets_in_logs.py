"""No secret reaches a log: a whole day of the bot (handoff, card, click, command, a Slack
call that fails, a sweep, a one-click page) with every logger at DEBUG, and not one record
holds the bot token, a signing secret, the webhook secret or token, the link secret, or the
database password."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from bot.links import LinkSigner, ack_url
from bot.teams.ack.links import ack_routes
from storage.repository import ensure_reps
from tests.e2e.conftest import SIGNING_SECRET, WEBHOOK_SECRET, running_bot
from tests.e2e.test_clicks import new_lead
from tests.e2e.test_thin_path import lead
from tests.fakes import BOT_TOKEN, serve

LINK_SECRET = "link-secret-never-logged-5b1e"
WEBHOOK_TOKEN = "webhook-token-never-logged-7d3a"
DB_PASSWORD = "db-password-never-logged-9c2f"
LOGGERS = (
    "",
    "slack_sdk",
    "slack_bolt",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "sqlalchemy",
    "httpx",
    "httpcore",
    "urllib3",
    "ignorerate",
    "bot",
)


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.texts.append(f"{record.name}: {text}")


@pytest.fixture
def everything() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    root.addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_a_full_flow_at_debug_logs_no_secret(database_url: str, everything: Everything) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":  # trust auth: the password is sent, unneeded
        database_url = url.set(password=DB_PASSWORD).render_as_string(hide_password=False)
    env = {"IGNORERATE_LINK_SECRET": LINK_SECRET, "IGNORERATE_WEBHOOK_TOKEN": WEBHOOK_TOKEN}
    with running_bot(database_url, env_extra=env) as bot:
        for name in LOGGERS:  # uvicorn set its own levels as it started
            logging.getLogger(name).setLevel(logging.DEBUG)
        lead_id = new_lead(bot, "LOG-1")  # handoff and card
        bot.interact(bot.click_payload("UA", "lead.contacted.call", value=str(lead_id)))
        bot.slack.wait_for("chat.update")
        bot.command("UBOSS", "this-week")
        bot.slack.wait_for_response()
        bot.slack.fail("chat.postMessage", "error:invalid_auth", times=3)
        bot.slack.fail("chat.postEphemeral", "500", times=3)
        bot.handoff(lead("LOG-2"))  # its card fails
        bot.interact(bot.click_payload("USTRANGER", "lead.contacted.call", value=str(lead_id)))
        bot.wait_retrying()
        bot.interact(
            bot.click_payload("UA", "lead.contacted.call", value=str(lead_id)), secret="forged"
        )  # a refused request: Bolt logs what it refused
        assert bot.with_token("handoff", lead("LOG-3"), WEBHOOK_TOKEN).status_code == 202
        action = {
            "source": "webinar",
            "external_id": "LOG-3",
            "at": bot.clock.now().isoformat(),
            "kind": "contacted:email",
        }
        assert bot.with_token("action", action, WEBHOOK_TOKEN).status_code == 202
        assert bot.with_token("action", action, WEBHOOK_TOKEN[:-1]).status_code == 401
        bot.clock.advance(timedelta(hours=3))
        bot.tick()  # the sweep
        signer = LinkSigner(LINK_SECRET)
        app = Starlette(routes=ack_routes(bot.engine, bot.settings, signer, bot.clock))
        with bot.engine.begin() as conn:
            rep = ensure_reps(conn, ["a@example.com"], bot.clock.now())["a@example.com"]
        with serve(app) as site, httpx.Client() as browser:
            link = ack_url(site, signer, lead_id, rep, bot.clock.now())
            browser.get(link)
            browser.get(link[:-2] + "xx")
    logged = "\n".join(everything.texts)
    assert "slack_sdk" in logged  # the capture did see the Web API client at DEBUG
    assert "chat.postMessage" in logged
    secrets = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "IGNORERATE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "IGNORERATE_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "IGNORERATE_LINK_SECRET": LINK_SECRET,
        "DATABASE_URL password": DB_PASSWORD,
    }
    leaked = {
        name: [t[:300] for t in everything.texts if value in t]
        for name, value in secrets.items()
        if value in logged
    }
    assert leaked == {}

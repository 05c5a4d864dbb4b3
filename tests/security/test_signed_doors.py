"""Every signed door of the running bot refuses a forged, stale or tampered request, and a
refused request records nothing: no lead, no action, no outbox message, no Slack call."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette

from bot.links import LinkSigner, _b64, ack_url
from bot.teams.ack.links import ack_routes
from storage.repository import ensure_reps
from tests.e2e.conftest import WEBHOOK_SECRET, Bot, sign_webhook, slack_payload
from tests.e2e.test_clicks import new_lead
from tests.e2e.test_thin_path import lead
from tests.fakes import serve
from tests.security.conftest import census

pytestmark = pytest.mark.one_backend  # the database is incidental here


LINK_SECRET = "link-secret-for-the-security-suite"


@dataclass
class Doors:
    bot: Bot
    ack: str  # base URL of the one-click pages, on the bot's database and clock
    signer: LinkSigner
    lead_id: int
    other_lead_id: int
    rep_id: int

    def link(self, lead_id: int | None = None) -> str:
        return ack_url(
            self.ack, self.signer, lead_id or self.lead_id, self.rep_id, self.bot.clock.now()
        )


@pytest.fixture
def doors(bot: Bot) -> Iterator[Doors]:
    signer = LinkSigner(LINK_SECRET)
    app = Starlette(routes=ack_routes(bot.engine, bot.settings, signer, bot.clock))
    lead_id = new_lead(bot, "DOOR-1")
    other = new_lead(bot, "DOOR-2")
    with bot.engine.begin() as conn:
        rep_id = ensure_reps(conn, ["a@example.com"], bot.clock.now())["a@example.com"]
    with serve(app) as url:
        yield Doors(bot, url, signer, lead_id, other, rep_id)


def _slack_raw(bot: Bot, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return bot.http.post(f"{bot.url}/slack/events", content=body, headers=headers)


def _ack_post(d: Doors, url: str, *, cookie: bool) -> httpx.Response:
    with httpx.Client(timeout=10) as browser:
        page = browser.get(d.link())  # a real page of a real link: its cookie and field
        field = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        if not cookie:
            browser.cookies.clear()
        return browser.post(url, data={"csrf": field, "choice": "contacted:call"})


def _swapped_lead(d: Doors) -> str:
    """The link's body with another lead's id, keeping the link's own signature."""
    token = d.link().rsplit("/", 1)[1]
    _body, mac = token.split(".")
    expires = int((d.bot.clock.now() + timedelta(hours=1)).timestamp())
    body = json.dumps({"l": d.other_lead_id, "r": d.rep_id, "x": expires}, separators=(",", ":"))
    return f"{d.ack}/ack/{_b64(body.encode())}.{mac}"


def _expired(d: Doors) -> str:
    url = d.link()
    d.bot.clock.advance(timedelta(hours=73))
    return url


def _action(external_id: str) -> dict[str, str]:
    return {
        "source": "webinar",
        "external_id": external_id,
        "at": "2026-11-24T11:55:00+09:00",
        "kind": "contacted:call",
    }


STALE = int(time.time()) - 301  # only grows staler while the suite runs
EVENT = "event_callback.json"

# (door, what is wrong, the request, the status it must get)
CASES: list[tuple[str, str, Callable[[Doors], httpx.Response], int]] = [
    (
        "slack event",
        "wrong secret",
        lambda d: d.bot.slack_post(
            slack_payload(EVENT), "application/json", secret="not-the-secret"
        ),
        401,
    ),
    (
        "slack event",
        "stale",
        lambda d: d.bot.slack_post(slack_payload(EVENT), "application/json", timestamp=STALE),
        401,
    ),
    (
        "slack event",
        "from the future",
        lambda d: d.bot.slack_post(
            slack_payload(EVENT), "application/json", timestamp=int(time.time()) + 400
        ),
        401,
    ),
    (
        "slack event",
        "unsigned",
        lambda d: _slack_raw(
            d.bot, slack_payload(EVENT).encode(), {"Content-Type": "application/json"}
        ),
        401,
    ),
    (
        "slack event",
        "timestamp not a number",
        lambda d: _slack_raw(
            d.bot,
            slack_payload(EVENT).encode(),
            {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": "soon",
                "X-Slack-Signature": "v0=00",
            },
        ),
        401,
    ),
    (
        "slack event",
        "body not UTF-8",
        lambda d: _slack_raw(
            d.bot,
            b"payload=\xff\xfe",
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(int(time.time())),
                "X-Slack-Signature": "v0=00",
            },
        ),
        401,
    ),
    (
        "slash command",
        "wrong secret",
        lambda d: d.bot.command("UA", "this-week", secret="not-the-secret"),
        401,
    ),
    ("slash command", "stale", lambda d: d.bot.command("UA", "this-week", timestamp=STALE), 401),
    (
        "button click",
        "wrong secret",
        lambda d: d.bot.interact(
            d.bot.click_payload("UA", "lead.contacted.call", value=str(d.lead_id)),
            secret="not-the-secret",
        ),
        401,
    ),
    (
        "button click",
        "stale",
        lambda d: d.bot.interact(
            d.bot.click_payload("UA", "lead.contacted.call", value=str(d.lead_id)),
            timestamp=STALE,
        ),
        401,
    ),
    (
        "button click",
        "signature of another body",
        lambda d: _slack_raw(
            d.bot,
            urlencode(
                {
                    "payload": json.dumps(
                        d.bot.click_payload("UA", "lead.contacted.call", value=str(d.lead_id))
                    )
                }
            ).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                **{
                    k: v
                    for k, v in d.bot.command("UA", "help").request.headers.items()
                    if k.startswith("x-slack")
                },
            },
        ),
        401,
    ),
    (
        "webhook",
        "wrong secret",
        lambda d: d.bot.handoff(lead("W-1"), secret="not-the-secret"),
        401,
    ),
    (
        "webhook",
        "stale",
        lambda d: d.bot.handoff(lead("W-2"), timestamp=int(d.bot.clock.now().timestamp()) - 301),
        401,
    ),
    (
        "webhook",
        "timestamp not a number",
        lambda d: d.bot.http.post(
            f"{d.bot.url}/hooks/handoff",
            content=json.dumps(lead("W-3")).encode(),
            headers={
                **sign_webhook(json.dumps(lead("W-3")).encode(), 0, WEBHOOK_SECRET),
                "X-Ignorerate-Timestamp": "1764000000.5",
            },
        ),
        401,
    ),
    (
        "webhook",
        "body not UTF-8, signature forged",
        lambda d: d.bot.handoff(None, raw=b"\xff" * 10, secret="not-the-secret"),
        401,
    ),
    (
        "action webhook",
        "wrong secret",
        lambda d: d.bot.action(_action("DOOR-1"), secret="not-the-secret"),
        401,
    ),
    (
        "action webhook",
        "stale",
        lambda d: d.bot.action(
            _action("DOOR-1"), timestamp=int(d.bot.clock.now().timestamp()) - 301
        ),
        401,
    ),
    (
        "action webhook",
        "signature of another body",
        lambda d: d.bot.http.post(
            f"{d.bot.url}/hooks/action",
            content=json.dumps(_action("DOOR-1")).encode(),
            headers=sign_webhook(
                json.dumps(_action("DOOR-2")).encode(), int(d.bot.clock.now().timestamp())
            ),
        ),
        401,
    ),
    (
        "action webhook",
        "a bearer token, none set up",
        lambda d: d.bot.with_token("action", _action("DOOR-1"), WEBHOOK_SECRET),
        401,
    ),
    (
        "webhook",
        "a bearer token, none set up",
        lambda d: d.bot.with_token("handoff", lead("W-4"), WEBHOOK_SECRET),
        401,
    ),
    ("ack page GET", "tampered token", lambda d: httpx.get(d.link()[:-2] + "xx"), 403),
    ("ack page POST", "tampered token", lambda d: httpx.post(d.link()[:-2] + "xx"), 403),
    ("ack page GET", "another lead's id", lambda d: httpx.get(_swapped_lead(d)), 403),
    (
        "ack page POST",
        "another lead's id",
        lambda d: _ack_post(d, _swapped_lead(d), cookie=True),
        403,
    ),
    ("ack page POST", "no CSRF cookie", lambda d: _ack_post(d, d.link(), cookie=False), 403),
    ("ack page GET", "expired", lambda d: httpx.get(_expired(d)), 410),
    ("ack page POST", "expired", lambda d: httpx.post(_expired(d), data={"csrf": "x"}), 410),
]


def test_a_forged_stale_or_tampered_request_is_refused_and_records_nothing(doors: Doors) -> None:
    """One walk through every door (one server a backend; the expired links come last, as
    they move the clock)."""
    bot = doors.bot
    for door, wrong, send, status in CASES:
        before = census(bot.engine)
        slack_calls = len(bot.slack.calls)
        answer = send(doors)
        assert answer.status_code == status, (door, wrong, answer.status_code, answer.text[:300])
        time.sleep(0.1)  # anything the bot would do after an ack has had time to start
        assert census(bot.engine) == before, (door, wrong)
        assert [c.method for c in bot.slack.calls[slack_calls:]] == [], (door, wrong)

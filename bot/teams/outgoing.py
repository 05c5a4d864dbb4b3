"""Managers asking in a Teams channel: `@IgnoreRate last-month team:enterprise`.

A Teams Outgoing Webhook turns an @mention of the bot into a POST signed with HMAC-SHA256
over the body, keyed with the base64 secret Teams shows when the webhook is made
(`Authorization: HMAC <base64>`), and waits up to 10 seconds for the reply. The text is
read with the `/ignorerate` grammar and answered with an Adaptive Card.

Who may ask what: Teams sends the asker's display name and AAD object id, not an email,
so the bot cannot tell a rep from a manager. The channel decides instead: a channel set
as a team's `teams_channel` may ask for that team (everyone in it sees that team's
numbers, as in the weekly summary posted there); other teams and `team:all` are refused.
A signed request has no timestamp to expire, so a replayed one gets the same read-only
answer and changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.app.db import Engine
from bot.app.reports import report
from bot.body import BodyTooLargeError, read_body
from bot.clock import Clock
from bot.config import ConfigError, Settings, TeamConfig
from bot.present.command import CommandError, dashboard_answer, parse_command
from bot.present.i18n import t
from bot.teams.cards import report_card
from metrics.errors import PeriodError
from metrics.periods import ACCEPTED_FORMS

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def signature(secret_b64: str, body: bytes) -> str:
    key = base64.b64decode(secret_b64)
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def command_text(raw: str) -> str:
    """The words after the @mention, without Teams' HTML."""
    text = _TAG.sub(" ", _MENTION.sub(" ", raw or ""))
    return " ".join(html.unescape(text).replace("\xa0", " ").split())


def _activity(body: bytes) -> tuple[str, str] | None:
    """(text, channel id) of an activity; None if the body is not one (not UTF-8, not
    JSON, nested past the parser's depth, or not an object where one is expected)."""
    try:
        payload: Any = json.loads(body)
    except (ValueError, RecursionError):  # ValueError covers bad UTF-8 and huge numbers
        return None
    if not isinstance(payload, dict):
        return None
    conversation = payload.get("conversation") or {}
    if not isinstance(conversation, dict):
        return None
    text, channel = payload.get("text") or "", conversation.get("id") or ""
    if not isinstance(text, str) or not isinstance(channel, str):
        return None
    return text, channel.split(";")[0]


def _reply_text(text: str) -> JSONResponse:
    return JSONResponse({"type": "message", "text": text})


class OutgoingCounters(Protocol):
    """The Prometheus counters the door counts in (the server's `Metrics` has them)."""

    commands: Counter
    rejected_requests: Counter


@dataclass
class OutgoingDoor:
    engine: Engine
    settings: Settings
    secret: str | None  # TEAMS_OUTGOING_SECRET, base64 as Teams shows it
    clock: Clock
    metrics: OutgoingCounters
    dashboard_url: str | None = None  # None: the dashboard is off

    def __post_init__(self) -> None:
        if self.secret is not None:
            try:
                base64.b64decode(self.secret, validate=True)
            except binascii.Error:
                raise ConfigError(
                    "environment",
                    "TEAMS_OUTGOING_SECRET",
                    "not base64; paste it exactly as Teams shows it",
                ) from None

    def _team(self, channel: str, asked: str | None) -> TeamConfig:
        loc = self.settings.locale
        here = next(
            (tm for tm in self.settings.teams if tm.teams_channel and tm.teams_channel == channel),
            None,
        )
        if asked is not None and asked.lower() == "all":
            raise PermissionError(t(loc, "teams.ask.all_refused"))
        if asked is not None and (here is None or asked != here.name):
            raise PermissionError(t(loc, "teams.ask.other_team", team=asked))
        if here is None:
            raise PermissionError(t(loc, "teams.ask.unknown_channel"))
        return here

    async def handle(self, request: Request) -> Response:
        if not self.secret:
            return JSONResponse(
                {"error": "the Teams outgoing webhook is off: TEAMS_OUTGOING_SECRET is not set"},
                status_code=503,
            )
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLargeError:
            self.metrics.rejected_requests.labels("teams", "too_large").inc()
            return JSONResponse({"error": "body over 64 KB"}, status_code=413)
        given = request.headers.get("authorization", "")
        scheme, _, mac = given.partition(" ")
        # compared as bytes: a header is Latin-1 text, and `compare_digest` raises on str
        # that is not ASCII
        expected = signature(self.secret, body).encode()
        if scheme != "HMAC" or not hmac.compare_digest(
            mac.strip().encode("utf-8", "replace"), expected
        ):
            self.metrics.rejected_requests.labels("teams", "bad_signature").inc()
            return JSONResponse({"error": "bad signature"}, status_code=401)
        activity = _activity(body)
        if activity is None:
            self.metrics.rejected_requests.labels("teams", "malformed").inc()
            return JSONResponse(
                {"error": "expected an activity: a JSON object in UTF-8"}, status_code=400
            )
        raw_text, channel = activity
        return await run_in_threadpool(self._answer, command_text(raw_text), channel)

    def _answer(self, text: str, channel: str) -> Response:
        loc = self.settings.locale
        usage = t(loc, "teams.ask.usage")
        try:
            asked = parse_command(text, loc)
        except CommandError as err:
            self.metrics.commands.labels("bad_input").inc()
            return _reply_text(f"{err}\n\n{usage}")
        if asked.help:
            return _reply_text(usage)
        if asked.dashboard:
            return _reply_text(dashboard_answer(self.dashboard_url, loc))
        try:
            team = self._team(channel, asked.team)
            result = report(
                self.engine,
                self.settings,
                asked.period,
                self.clock.now(),
                team.name,
                breakdowns=asked.by is not None,
            )
        except PermissionError as err:
            self.metrics.commands.labels("refused").inc()
            return _reply_text(str(err))
        except PeriodError as err:
            self.metrics.commands.labels("bad_input").inc()
            detail = f" ({err.detail})" if err.detail else ""
            forms = ", ".join(ACCEPTED_FORMS)
            return _reply_text(
                t(loc, "period.error", text=err.text, detail=detail, forms=forms) + "\n\n" + usage
            )
        self.metrics.commands.labels("answered").inc()
        card = report_card(result, asked.by, loc)
        return JSONResponse(
            {
                "type": "message",
                "attachments": [
                    {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
                ],
            }
        )

"""`/ack/{token}`: the routes a Teams card's one-click links open.

Teams Workflows cards cannot call the bot back (no `Action.Submit`), so a card carries
signed links (`bot/links.py`). Link scanners (Safe Links, Teams previews) fetch every
GET, so GET only shows the lead and a form; only the form's POST records anything, and
it records through `bot.app.clicks.act`, exactly as a Slack click does.

Identity: without an Azure bot registration Teams tells us nothing about who clicked.
The signed link is the credential: a link sent to one rep acts as that rep; a link
posted to a team channel for an unassigned lead asks the person to pick themselves from
the team's people.

CSRF: the double-submit pattern (`csrf`). What the pages say is `pages`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.app.clicks import Click, ClickOutcome, act
from bot.app.db import Engine
from bot.app.leads import lead_and_person, lead_view
from bot.body import BodyTooLargeError, read_body
from bot.clock import Clock
from bot.config import Settings
from bot.links import ExpiredLinkError, LinkSigner, TamperedLinkError, is_row_id
from bot.teams.ack import csrf
from bot.teams.ack.choice import Choice, ChoiceError, read_choice
from bot.teams.ack.pages import Pages
from metrics.views import LeadView, Person

log = logging.getLogger(__name__)

MAX_BODY = 10 * 1024  # the form is a few short fields; anything bigger is not ours


class AckCounters(Protocol):
    """The Prometheus counters the pages count in (the server's `Metrics` has them)."""

    clicks: Counter
    rejected_requests: Counter


@dataclass(frozen=True)
class _Link:
    lead_id: int
    rep_id: int | None  # None: posted to a team channel, for whoever takes it
    token: str


class _RefusedError(Exception):
    """An answer other than the page asked for (bad link, missing lead, bad form)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class AckLinks:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        signer: LinkSigner,
        clock: Clock,
        metrics: AckCounters | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.signer = signer
        self.clock = clock
        self.metrics = metrics
        self.pages = Pages(settings, clock)

    # ------------------------------------------------------------ doors

    async def show(self, request: Request) -> Response:
        """GET: the lead and the form. Changes nothing (link scanners come here too)."""
        try:
            link = await self._verify(request)
            lead, sent_to = await run_in_threadpool(self._load, link)
        except _RefusedError as refused:
            return refused.response
        value = csrf.value_for(request, link.token)
        people = _people(self.settings, lead) if link.rep_id is None else None
        response = self.pages.lead(lead, sent_to, people, value)
        csrf.set_cookie(response, request, link.token, value)
        return response

    async def submit(self, request: Request) -> Response:
        """POST: records the choice, once, as `bot.app.clicks.act` does for a Slack click."""
        try:
            link = await self._verify(request)
            form = await self._read_form(request)
            self._check_csrf(request, link, form)
            try:
                choice = read_choice(form, self.settings)
            except ChoiceError as err:
                raise self._not_recorded(err.key, 400) from None
            outcome = await run_in_threadpool(self._act, link, choice, form.get("actor", ""))
        except _RefusedError as refused:
            return refused.response
        if self.metrics is not None:
            self.metrics.clicks.labels(choice.kind.value, outcome.result.value).inc()
        return self.pages.outcome(outcome, choice)

    # ------------------------------------------------------------ checks

    async def _verify(self, request: Request) -> _Link:
        token = str(request.path_params["token"])
        try:
            data = self.signer.verify("ack", token, self.clock.now())
        except ExpiredLinkError as err:
            self._refused("expired")
            raise _RefusedError(await run_in_threadpool(self._expired_page, err.data)) from None
        except TamperedLinkError:
            self._refused("tampered")
            raise _RefusedError(self.pages.tampered()) from None
        lead_id, rep_id = data.get("l"), data.get("r")
        if not is_row_id(lead_id) or not (rep_id is None or is_row_id(rep_id)):
            # signed by us, yet not an ack link's shape: treat it as one we did not make
            self._refused("tampered")
            raise _RefusedError(self.pages.tampered())
        return _Link(lead_id, rep_id, token)

    def _refused(self, reason: str) -> None:
        # the token is a credential: it is never logged
        log.info("ack link refused: %s", reason)
        if self.metrics is not None:
            self.metrics.rejected_requests.labels("ack", reason).inc()

    def _not_recorded(self, key: str, status: int) -> _RefusedError:
        return _RefusedError(self.pages.message("ack.not_recorded", key, status))

    async def _read_form(self, request: Request) -> dict[str, str]:
        """The urlencoded form, read up to MAX_BODY (a bigger body is refused unread)."""
        too_large = self._not_recorded("ack.too_large", 413)
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLargeError:
            raise too_large from None
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return {}
        try:
            fields = parse_qs(body.decode("utf-8"), max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            return {}
        return {k: v[0] for k, v in fields.items()}

    def _check_csrf(self, request: Request, link: _Link, form: dict[str, str]) -> None:
        if not csrf.matches(request, link.token, form):
            self._refused("csrf")
            raise self._not_recorded("ack.csrf", 403)

    # ------------------------------------------------------------ database

    def _load(self, link: _Link) -> tuple[LeadView, Person | None]:
        lead, sent_to = lead_and_person(self.engine, link.lead_id, link.rep_id)
        if lead is None:
            raise _RefusedError(
                self.pages.message("ack.not_found_title", "click.no_such_lead", 404)
            )
        if link.rep_id is not None and sent_to is None:
            raise _RefusedError(self.pages.message("ack.not_found_title", "ack.unknown_rep", 404))
        return lead, sent_to

    def _act(self, link: _Link, choice: Choice, picked: str) -> ClickOutcome:
        lead, sent_to = self._load(link)
        if sent_to is not None:
            actor = sent_to.email
        elif picked.lower() in _people(self.settings, lead):
            actor = picked.lower()
        else:
            raise self._not_recorded("ack.bad_choice", 400)
        now = self.clock.now()
        click = Click(
            lead_id=link.lead_id,
            actor_email=actor,
            kind=choice.kind,
            at=now,
            key=_idempotency_key(link.token, choice),
            via="teams",
            channel=choice.channel,
            reason=choice.reason,
            snooze_minutes=choice.minutes,
        )
        return act(self.engine, self.settings, click, now)

    def _expired_page(self, data: dict[str, Any]) -> Response:
        lead_id = data.get("l")
        in_slack = False
        if is_row_id(lead_id):
            lead = lead_view(self.engine, lead_id)
            team = self.settings.team(lead.team) if lead else None
            in_slack = team is not None and bool(team.slack_channel)
        return self.pages.expired(in_slack=in_slack)


def _people(settings: Settings, lead: LeadView) -> list[str]:
    """Whom a channel link's form offers to act as: the team's reps, then managers."""
    team = settings.team(lead.team)
    if team is None:
        return []
    return list(dict.fromkeys(e.lower() for e in (*team.reps, *team.managers)))


def _idempotency_key(token: str, choice: Choice) -> str:
    """The same link and the same button make one action, however often it is posted
    (double click, back button, a replayed request); hashed to fit the column."""
    digest = hashlib.sha256(f"{token}\n{choice.code}".encode()).hexdigest()[:40]
    return f"teams:{choice.kind.value}:{digest}"


def ack_routes(
    engine: Engine,
    settings: Settings,
    signer: LinkSigner,
    clock: Clock,
    metrics: AckCounters | None = None,
) -> list[Route]:
    """`GET /ack/{token}` shows the lead and the form; `POST /ack/{token}` records."""
    links = AckLinks(engine, settings, signer, clock, metrics)
    return [
        Route("/ack/{token}", links.show, methods=["GET"]),
        Route("/ack/{token}", links.submit, methods=["POST"]),
    ]

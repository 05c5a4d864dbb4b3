"""`/ack/{token}`: the pages a Teams card's one-click links open.

Teams Workflows cards cannot call the bot back (no `Action.Submit`), so a card carries
signed links (`bot/links.py`). Link scanners (Safe Links, Teams previews) fetch every
GET, so GET only shows the lead and a form; only the form's POST records anything, and
it records through `bot.leads.act`, exactly as a Slack click does.

Identity: without an Azure bot registration Teams tells us nothing about who clicked.
The signed link is the credential: a link sent to one rep acts as that rep; a link
posted to a team channel for an unassigned lead asks the person to pick themselves from
the team's people.

CSRF: the double-submit pattern. GET sets a random value in a cookie (HttpOnly,
SameSite=Strict, Path=/ack) and in a hidden field; POST needs both, equal.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from base64 import b64encode
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.body import BodyTooLargeError, read_body
from bot.clock import Clock
from bot.config import Settings
from bot.http.metrics import Metrics
from bot.i18n import t
from bot.leads import SNOOZE_MINUTES, Click, ClickOutcome, Result, act
from bot.links import ExpiredLinkError, LinkSigner, TamperedLinkError, is_row_id
from bot.present.words import reason_label
from metrics.model import ActionKind, ContactChannel
from storage import leads as store

log = logging.getLogger(__name__)

MAX_BODY = 10 * 1024  # the form is a few short fields; anything bigger is not ours
CSRF_FIELD = "csrf"
CSRF_COOKIE_PREFIX = "ack_csrf_"
CSRF_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) makes
CSRF_MAX_AGE = 12 * 3600  # a page left open over a night asks for a reload

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1d1f24;font:16px/1.5 system-ui,-apple-system,
"Segoe UI","Hiragino Sans","Noto Sans JP",Meiryo,sans-serif}
main{max-width:34rem;margin:0 auto;padding:1rem}
.card{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.3rem;margin:0 0 .75rem;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem .75rem;margin:0 0 1rem}
dt{color:#5b6170}dd{margin:0;overflow-wrap:anywhere}
.note{padding:.75rem;border-radius:8px;background:#eef2ff;margin:0 0 1rem}
.ok{background:#e7f6ec}.warn{background:#fff4e0}.bad{background:#fdecec}
fieldset{border:0;padding:0;margin:0 0 1rem}
legend{font-weight:600;margin-bottom:.4rem}
.row{display:flex;flex-wrap:wrap;gap:.5rem}
button,select{font:inherit;min-height:2.75rem;border-radius:8px}
button{border:1px solid #c6cad3;background:#fff;padding:.4rem .9rem;cursor:pointer}
button.primary{background:#2457d6;border-color:#2457d6;color:#fff}
button.danger{background:#c8322d;border-color:#c8322d;color:#fff}
select{border:1px solid #c6cad3;padding:.3rem;max-width:100%;background:#fff}
small,footer{color:#5b6170}
footer{font-size:.8rem;text-align:center;padding:1rem}
"""
_CSS_HASH = b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
# nothing runs, nothing loads: the one inline stylesheet is allowed by its hash
CSP = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class _Link:
    lead_id: int
    rep_id: int | None  # None: posted to a team channel, for whoever takes it
    token: str


@dataclass(frozen=True)
class _Choice:
    kind: ActionKind
    channel: ContactChannel | None = None
    reason: str | None = None
    minutes: int | None = None

    @property
    def code(self) -> str:
        """The choice in the idempotency key: the same button twice is the same action."""
        detail = self.channel or self.reason or self.minutes
        return f"{self.kind.value}:{detail}"


class _RefusedError(Exception):
    """An answer other than the page asked for (bad link, missing lead, bad form)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class AckPages:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        signer: LinkSigner,
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.signer = signer
        self.clock = clock
        self.metrics = metrics
        self.loc: str = settings.locale

    # ------------------------------------------------------------ doors

    async def show(self, request: Request) -> Response:
        """GET: the lead and the form. Changes nothing (link scanners come here too)."""
        try:
            link = await self._verify(request)
            lead, sent_to = await run_in_threadpool(self._load, link)
        except _RefusedError as refused:
            return refused.response
        # the value already set, if any, stays: a reload or a second tab of the same link
        # must not spoil the form open in the first (a navigation from Teams carries no
        # SameSite=Strict cookie, so there a fresh value is set, and an older tab is told
        # to reload)
        csrf = request.cookies.get(_cookie_name(link.token), "")
        if not CSRF_VALUE.fullmatch(csrf):
            csrf = secrets.token_urlsafe(32)
        body = self._lead_html(lead, link, sent_to) + self._form_or_done(lead, link, csrf)
        title = t(self.loc, "ack.title", lead=lead.name or t(self.loc, "ack.no_name"))
        response = self._page(title, body)
        response.set_cookie(
            _cookie_name(link.token),
            csrf,
            max_age=CSRF_MAX_AGE,
            path="/ack",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    async def submit(self, request: Request) -> Response:
        """POST: records the choice, once, as `bot.leads.act` does for a Slack click."""
        try:
            link = await self._verify(request)
            form = await self._read_form(request)
            self._check_csrf(request, link, form)
            choice = self._choice(form)
            outcome = await run_in_threadpool(self._act, link, choice, form.get("actor", ""))
        except _RefusedError as refused:
            return refused.response
        if self.metrics is not None:
            self.metrics.clicks.labels(choice.kind.value, outcome.result.value).inc()
        return self._outcome_page(outcome, choice)

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
            raise _RefusedError(self._tampered_page()) from None
        lead_id, rep_id = data.get("l"), data.get("r")
        if not is_row_id(lead_id) or not (rep_id is None or is_row_id(rep_id)):
            # signed by us, yet not an ack link's shape: treat it as one we did not make
            self._refused("tampered")
            raise _RefusedError(self._tampered_page())
        return _Link(lead_id, rep_id, token)

    def _refused(self, reason: str) -> None:
        # the token is a credential: it is never logged
        log.info("ack link refused: %s", reason)
        if self.metrics is not None:
            self.metrics.rejected_requests.labels("ack", reason).inc()

    async def _read_form(self, request: Request) -> dict[str, str]:
        """The urlencoded form, read up to MAX_BODY (a bigger body is refused unread)."""
        too_large = _RefusedError(
            self._message_page(t(self.loc, "ack.not_recorded"), "ack.too_large", 413)
        )
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
        cookie = request.cookies.get(_cookie_name(link.token), "")
        field = form.get(CSRF_FIELD, "")
        if not cookie or not field or not hmac.compare_digest(cookie.encode(), field.encode()):
            self._refused("csrf")
            raise _RefusedError(
                self._message_page(t(self.loc, "ack.not_recorded"), "ack.csrf", 403)
            )

    def _choice(self, form: dict[str, str]) -> _Choice:
        what, _, detail = form.get("choice", "").partition(":")
        if what == "contacted" and detail in {c.value for c in ContactChannel}:
            return _Choice(ActionKind.CONTACTED, channel=ContactChannel(detail))
        if what == "reject":
            reason = self.settings.reason(form.get("reason", "")) if form.get("reason") else None
            if reason is None:
                raise _RefusedError(
                    self._message_page(t(self.loc, "ack.not_recorded"), "reject.choose", 400)
                )
            return _Choice(ActionKind.REJECTED, reason=reason.code)
        if what == "snooze" and detail.isdigit() and int(detail) in SNOOZE_MINUTES:
            return _Choice(ActionKind.SNOOZED, minutes=int(detail))
        raise _RefusedError(
            self._message_page(t(self.loc, "ack.not_recorded"), "ack.bad_choice", 400)
        )

    # ------------------------------------------------------------ database

    def _load(self, link: _Link) -> tuple[store.LeadView, store.Person | None]:
        with self.engine.connect() as conn:
            lead = store.lead_view(conn, link.lead_id)
            sent_to = store.person_by_id(conn, link.rep_id) if link.rep_id is not None else None
        if lead is None:
            raise _RefusedError(
                self._message_page(t(self.loc, "ack.not_found_title"), "click.no_such_lead", 404)
            )
        if link.rep_id is not None and sent_to is None:
            raise _RefusedError(
                self._message_page(t(self.loc, "ack.not_found_title"), "ack.unknown_rep", 404)
            )
        return lead, sent_to

    def _act(self, link: _Link, choice: _Choice, picked: str) -> ClickOutcome:
        lead, sent_to = self._load(link)
        if sent_to is not None:
            actor = sent_to.email
        elif picked.lower() in self._people(lead):
            actor = picked.lower()
        else:
            raise _RefusedError(
                self._message_page(t(self.loc, "ack.not_recorded"), "ack.bad_choice", 400)
            )
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

    def _people(self, lead: store.LeadView) -> list[str]:
        """Whom a channel link's form offers to act as: the team's reps, then managers."""
        team = self.settings.team(lead.team)
        if team is None:
            return []
        return list(dict.fromkeys(e.lower() for e in (*team.reps, *team.managers)))

    # ------------------------------------------------------------ pages

    def _tz(self, team_name: str) -> ZoneInfo:
        team = self.settings.team(team_name)
        return team.timezone if team else self.settings.timezone

    def _when(self, moment: datetime, team_name: str) -> str:
        return moment.astimezone(self._tz(team_name)).strftime("%Y-%m-%d %H:%M %Z")

    def _who(self, person: store.Person | None) -> str:
        if person is None:
            return t(self.loc, "card.nobody")
        return person.display_name or person.email

    def _state(self, lead: store.LeadView) -> str | None:
        """What already happened to the lead, as plain text; None while it is open."""
        loc = self.loc
        if lead.excluded_at is not None:
            return t(
                loc,
                "ack.state_excluded",
                reason=reason_label(lead.exclusion_reason or "excluded", loc),
                when=self._when(lead.excluded_at, lead.team),
            )
        if lead.first_action_at is None:
            return None
        actor = self._who(lead.first_actor)
        when = self._when(lead.first_action_at, lead.team)
        if lead.first_action_kind == "rejected":
            reason = reason_label(lead.first_reason or "other", loc)
            return t(loc, "ack.state_rejected", actor=actor, reason=reason, when=when)
        how = t(loc, f"contact.{lead.first_action_channel or 'other'}")
        return t(loc, "ack.state_contacted", actor=actor, how=how, when=when)

    def _lead_html(
        self, lead: store.LeadView, link: _Link | None, sent_to: store.Person | None
    ) -> str:
        """The lead's facts; with `link`, also whom that link was sent to."""
        loc = self.loc
        facts = [
            (t(loc, "ack.company"), lead.company or "—"),
            (t(loc, "card.source"), lead.source),
            (t(loc, "card.owner"), self._who(lead.owner)),
            (t(loc, "card.due"), self._when(lead.due_at, lead.team)),
            (t(loc, "ack.state"), self._state(lead) or t(loc, "ack.state_open")),
        ]
        if link is not None:
            to = self._who(sent_to) if link.rep_id is not None else t(loc, "ack.sent_to_channel")
            facts.insert(4, (t(loc, "ack.sent_to"), to))
        if lead.snoozed_until is not None and lead.first_action_at is None:
            until = self._when(lead.snoozed_until, lead.team)
            facts.append(("", t(loc, "card.snoozed", until=until)))
        rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
        return f"<dl>{rows}</dl>"

    def _form_or_done(self, lead: store.LeadView, link: _Link, csrf: str) -> str:
        loc = self.loc
        if lead.first_action_at is not None or lead.excluded_at is not None:
            return f'<p class="note">{escape(t(loc, "ack.nothing_to_do"))}</p>'
        parts = [
            f'<form method="post"><input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf)}">'
        ]
        if link.rep_id is None:
            options = "".join(
                f'<option value="{escape(email)}">{escape(email)}</option>'
                for email in self._people(lead)
            )
            parts.append(
                f"<fieldset><legend>{escape(t(loc, 'ack.who_are_you'))}</legend>"
                f'<select name="actor" required><option value="">'
                f"{escape(t(loc, 'ack.choose_person'))}</option>{options}</select>"
                f"<p><small>{escape(t(loc, 'ack.who_note'))}</small></p></fieldset>"
            )
        buttons = "".join(
            f'<button type="submit" name="choice" value="contacted:{c.value}"'
            f"{' class=primary' if c is ContactChannel.CALL else ''}>"
            f"{escape(t(loc, f'contact.{c.value}'))}</button>"
            for c in ContactChannel
        )
        parts.append(
            f"<fieldset><legend>{escape(t(loc, 'ack.contacted_heading'))}</legend>"
            f'<div class="row">{buttons}</div></fieldset>'
        )
        reasons = "".join(
            f'<option value="{escape(r.code)}">{escape(reason_label(r.code, loc))}'
            f"{escape(' (' + t(loc, 'reject.not_counted') + ')') if r.excludes else ''}"
            "</option>"
            for r in self.settings.reject_reasons
        )
        parts.append(
            f"<fieldset><legend>{escape(t(loc, 'ack.reject_heading'))}</legend>"
            f'<div class="row"><select name="reason" '
            f'aria-label="{escape(t(loc, "reject.reason"))}">'
            f'<option value="">{escape(t(loc, "reject.choose"))}</option>{reasons}</select>'
            f'<button type="submit" name="choice" value="reject" class="danger">'
            f"{escape(t(loc, 'reject.submit'))}</button></div>"
            f"<p><small>{escape(t(loc, 'reject.explain'))}</small></p></fieldset>"
        )
        snoozes = "".join(
            f'<button type="submit" name="choice" value="snooze:{m}">'
            f"{escape(_span(m, loc))}</button>"
            for m in SNOOZE_MINUTES
        )
        parts.append(
            f"<fieldset><legend>{escape(t(loc, 'ack.snooze_heading'))}</legend>"
            f'<div class="row">{snoozes}</div></fieldset></form>'
        )
        return "".join(parts)

    def _outcome_page(self, outcome: ClickOutcome, choice: _Choice) -> Response:
        loc = self.loc
        lead = outcome.lead
        result = outcome.result
        if result is Result.NO_SUCH_LEAD or lead is None:
            return self._message_page(t(loc, "ack.not_found_title"), "click.no_such_lead", 404)
        if result is Result.FORBIDDEN:
            return self._message_page(t(loc, "ack.forbidden_title"), "click.forbidden", 403)
        if result in (Result.BAD_REQUEST, Result.SNOOZE_NOT_OFFERED, Result.OWNER_OUTSIDE_TEAM):
            return self._message_page(t(loc, "ack.not_recorded"), "ack.bad_choice", 400)
        lines: list[str]
        if result is Result.RECORDED:
            title, tone, lines = t(loc, "ack.recorded"), "ok", self._recorded(outcome, choice)
        elif result is Result.REPEATED:
            title, tone, lines = t(loc, "ack.recorded"), "ok", [t(loc, "ack.repeated")]
        elif result is Result.ALREADY_EXCLUDED:
            title, tone, lines = (
                t(loc, "ack.not_recorded"),
                "warn",
                [t(loc, "click.already_excluded")],
            )
        else:  # ALREADY_ACTIONED: someone else got there first; say who and when
            moment = lead.first_action_at
            text = t(
                loc,
                "click.already_actioned",
                actor=self._who(lead.first_actor),
                when=self._when(moment, lead.team) if moment else "",
            )
            title, tone, lines = t(loc, "ack.not_recorded"), "warn", [text]
        notes = "".join(f'<p class="note {tone}">{escape(line)}</p>' for line in lines)
        name = escape(lead.name or t(loc, "ack.no_name"))
        return self._page(
            title, f"<p><strong>{name}</strong></p>{notes}{self._lead_html(lead, None, None)}"
        )

    def _recorded(self, outcome: ClickOutcome, choice: _Choice) -> list[str]:
        loc = self.loc
        lead = outcome.lead
        assert lead is not None
        actor = lead.first_actor or lead.owner
        if choice.kind is ActionKind.SNOOZED:
            until = lead.snoozed_until or self.clock.now()
            return [
                t(
                    loc,
                    "click.snoozed",
                    until=self._when(until, lead.team),
                    due=self._when(lead.due_at, lead.team),
                )
            ]
        if choice.kind is ActionKind.REJECTED:
            label = reason_label(choice.reason or "other", loc)
            if lead.excluded_at is not None and lead.first_action_at is None:
                return [t(loc, "ack.recorded_excluded", reason=label)]
            return [t(loc, "ack.recorded_rejected", actor=self._who(actor), reason=label)]
        how = t(loc, f"contact.{choice.channel or 'other'}")
        lines = [t(loc, "ack.recorded_contacted", actor=self._who(actor), how=how)]
        if outcome.took_over:
            lines.append(t(loc, "click.took_over"))
        return lines

    def _tampered_page(self) -> Response:
        return self._message_page(t(self.loc, "ack.tampered_title"), "ack.tampered", 403)

    def _expired_page(self, data: dict[str, Any]) -> Response:
        loc = self.loc
        lines = [t(loc, "ack.expired")]
        lead_id = data.get("l")
        if is_row_id(lead_id):
            with self.engine.connect() as conn:
                lead = store.lead_view(conn, lead_id)
            team = self.settings.team(lead.team) if lead else None
            if team is not None and team.slack_channel:
                lines.append(t(loc, "ack.expired_slack"))
        body = "".join(f'<p class="note warn">{escape(line)}</p>' for line in lines)
        return self._page(t(loc, "ack.expired_title"), body, 410)

    def _message_page(self, title: str, key: str, status: int) -> Response:
        tone = "bad" if status >= 400 else "ok"
        body = f'<p class="note {tone}">{escape(t(self.loc, key))}</p>'
        return self._page(title, body, status)

    def _page(self, title: str, body: str, status: int = 200) -> HTMLResponse:
        html = (
            f'<!doctype html><html lang="{escape(self.loc)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex">'
            '<meta name="referrer" content="no-referrer">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f'<body><main><div class="card"><h1>{escape(title)}</h1>{body}</div></main>'
            f"<footer>{escape(t(self.loc, 'ack.footer'))}</footer></body></html>"
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)


def _span(minutes: int, locale: str) -> str:
    """A snooze button's label: the Slack card's "1 d 0 h" reads oddly on a button."""
    if minutes == 1440:
        return t(locale, "ack.one_day")
    return t(locale, "duration.hours", n=minutes // 60)


def _cookie_name(token: str) -> str:
    """One cookie a link, so two links open in two tabs do not spoil each other's form;
    named by a hash, as the token itself is a credential."""
    return CSRF_COOKIE_PREFIX + hashlib.sha256(token.encode()).hexdigest()[:16]


def _idempotency_key(token: str, choice: _Choice) -> str:
    """The same link and the same button make one action, however often it is posted
    (double click, back button, a replayed request); hashed to fit the column."""
    digest = hashlib.sha256(f"{token}\n{choice.code}".encode()).hexdigest()[:40]
    return f"teams:{choice.kind.value}:{digest}"


def ack_routes(
    engine: Engine,
    settings: Settings,
    signer: LinkSigner,
    clock: Clock,
    metrics: Metrics | None = None,
) -> list[Route]:
    """`GET /ack/{token}` shows the lead and the form; `POST /ack/{token}` records."""
    pages = AckPages(engine, settings, signer, clock, metrics)
    return [
        Route("/ack/{token}", pages.show, methods=["GET"]),
        Route("/ack/{token}", pages.submit, methods=["POST"]),
    ]

"""What the one-click pages say, rendered from `templates/`.

Every value put into a template is HTML-escaped (`render`), except a fragment that was
itself rendered from a template (`Html`). A template's lines are joined with their
indentation dropped, so a template breaks its lines only between tags.

Nothing runs and nothing loads: the one inline stylesheet (`templates/ack.css`) is
allowed by its hash in the Content-Security-Policy, and no script is allowed at all.
"""

from __future__ import annotations

import hashlib
from base64 import b64encode
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from html import escape
from importlib.resources import files
from string import Template
from zoneinfo import ZoneInfo

from starlette.responses import HTMLResponse

from bot.app.clicks import SNOOZE_MINUTES, ClickOutcome, Result
from bot.clock import Clock
from bot.config import Settings
from bot.present.i18n import t
from bot.present.status import ACK_PAGE, lead_status
from bot.present.words import reason_label
from bot.teams.ack import csrf
from bot.teams.ack.choice import Choice
from metrics.model import ActionKind, ContactChannel
from metrics.views import LeadView, Person


class Html(str):
    """Markup rendered from a template: put into another template as it is."""

    __slots__ = ()


def _read(name: str) -> str:
    return (files("bot.teams.ack") / "templates" / name).read_text(encoding="utf-8")


@cache
def _template(name: str) -> Template:
    return Template("".join(line.strip() for line in _read(name).splitlines()))


def render(name: str, /, **values: str) -> Html:
    """`templates/{name}.html` with every value escaped, save a fragment already `Html`."""
    safe = {k: v if isinstance(v, Html) else escape(v) for k, v in values.items()}
    return Html(_template(f"{name}.html").substitute(safe))


def join(fragments: Iterable[Html]) -> Html:
    return Html("".join(fragments))


@cache
def stylesheet() -> str:
    return _read("ack.css")


@cache
def headers() -> dict[str, str]:
    """What every page is sent with: the CSP allows the stylesheet by its hash only."""
    digest = b64encode(hashlib.sha256(stylesheet().encode()).digest()).decode()
    csp = (
        f"default-src 'none'; style-src 'sha256-{digest}'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Robots-Tag": "noindex, nofollow",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


class Pages:
    """The pages, in the settings' language, with times in each lead's team's zone."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.loc: str = settings.locale

    # ------------------------------------------------------------ pages

    def lead(
        self,
        lead: LeadView,
        sent_to: Person | None,
        people: list[str] | None,
        csrf_value: str,
    ) -> HTMLResponse:
        """GET's page: the lead, whom the link went to, and the form (or that it is done).

        `people` is None for a link sent to one rep (`sent_to`); for a link posted to a
        channel, whom the form offers to act as."""
        loc = self.loc
        to = self._who(sent_to) if people is None else t(loc, "ack.sent_to_channel")
        body = join([self._facts(lead, to), self._form_or_done(lead, people, csrf_value)])
        return self._page(t(loc, "ack.title", lead=lead.name or t(loc, "ack.no_name")), body)

    def outcome(self, outcome: ClickOutcome, choice: Choice) -> HTMLResponse:
        """POST's page: what was recorded, or why not."""
        loc = self.loc
        lead = outcome.lead
        result = outcome.result
        if result is Result.NO_SUCH_LEAD or lead is None:
            return self.message("ack.not_found_title", "click.no_such_lead", 404)
        if result is Result.FORBIDDEN:
            return self.message("ack.forbidden_title", "click.forbidden", 403)
        if result in (Result.BAD_REQUEST, Result.SNOOZE_NOT_OFFERED, Result.OWNER_OUTSIDE_TEAM):
            return self.message("ack.not_recorded", "ack.bad_choice", 400)
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
        body = render(
            "outcome",
            name=lead.name or t(loc, "ack.no_name"),
            notes=join(_note(line, tone) for line in lines),
            facts=self._facts(lead, None),
        )
        return self._page(title, body)

    def expired(self, *, in_slack: bool) -> HTMLResponse:
        """410; `in_slack`: the lead's team also has a Slack channel to open it in."""
        loc = self.loc
        lines = [t(loc, "ack.expired")]
        if in_slack:
            lines.append(t(loc, "ack.expired_slack"))
        body = join(_note(line, "warn") for line in lines)
        return self._page(t(loc, "ack.expired_title"), body, 410)

    def tampered(self) -> HTMLResponse:
        return self.message("ack.tampered_title", "ack.tampered", 403)

    def message(self, title_key: str, key: str, status: int) -> HTMLResponse:
        """A page of one message, titled by `title_key`."""
        tone = "bad" if status >= 400 else "ok"
        return self._page(t(self.loc, title_key), _note(t(self.loc, key), tone), status)

    def _page(self, title: str, body: Html, status: int = 200) -> HTMLResponse:
        page = render(
            "page",
            lang=self.loc,
            title=title,
            css=Html(stylesheet()),
            body=body,
            footer=t(self.loc, "ack.footer"),
        )
        return HTMLResponse(page, status_code=status, headers=headers())

    # ------------------------------------------------------------ parts

    def _tz(self, team_name: str) -> ZoneInfo:
        team = self.settings.team(team_name)
        return team.timezone if team else self.settings.timezone

    def _when(self, moment: datetime, team_name: str) -> str:
        return moment.astimezone(self._tz(team_name)).strftime("%Y-%m-%d %H:%M %Z")

    def _who(self, person: Person | None) -> str:
        if person is None:
            return t(self.loc, "card.nobody")
        return person.display_name or person.email

    def _state(self, lead: LeadView) -> str | None:
        """What already happened to the lead, as plain text; None while it is open."""
        return lead_status(
            lead,
            self.loc,
            ACK_PAGE,
            actor=self._who(lead.first_actor),
            when=lambda moment: self._when(moment, lead.team),
        )

    def _facts(self, lead: LeadView, sent_to: str | None) -> Html:
        """The lead's facts; with `sent_to`, also whom the link was sent to."""
        loc = self.loc
        facts = [
            (t(loc, "ack.company"), lead.company or "—"),
            (t(loc, "card.source"), lead.source),
            (t(loc, "card.owner"), self._who(lead.owner)),
            (t(loc, "card.due"), self._when(lead.due_at, lead.team)),
            (t(loc, "ack.state"), self._state(lead) or t(loc, "ack.state_open")),
        ]
        if sent_to is not None:
            facts.insert(4, (t(loc, "ack.sent_to"), sent_to))
        if lead.snoozed_until is not None and lead.first_action_at is None:
            until = self._when(lead.snoozed_until, lead.team)
            facts.append(("", t(loc, "card.snoozed", until=until)))
        rows = join(render("fact", term=k, value=v) for k, v in facts)
        return render("facts", rows=rows)

    def _form_or_done(self, lead: LeadView, people: list[str] | None, csrf_value: str) -> Html:
        loc = self.loc
        if lead.first_action_at is not None or lead.excluded_at is not None:
            return render("note", classes="note", text=t(loc, "ack.nothing_to_do"))
        who = Html("")
        if people is not None:
            who = render(
                "who",
                who_are_you=t(loc, "ack.who_are_you"),
                choose_person=t(loc, "ack.choose_person"),
                people=join(render("option", value=e, label=e) for e in people),
                who_note=t(loc, "ack.who_note"),
            )
        contact_buttons = join(
            _button(
                f"contacted:{c.value}",
                t(loc, f"contact.{c.value}"),
                primary=c is ContactChannel.CALL,
            )
            for c in ContactChannel
        )
        not_counted = " (" + t(loc, "reject.not_counted") + ")"
        reasons = join(
            render(
                "option",
                value=r.code,
                label=reason_label(r.code, loc) + (not_counted if r.excludes else ""),
            )
            for r in self.settings.reject_reasons
        )
        snooze_buttons = join(_button(f"snooze:{m}", _span(m, loc)) for m in SNOOZE_MINUTES)
        return render(
            "form",
            csrf_field=csrf.FIELD,
            csrf=csrf_value,
            who=who,
            contacted_heading=t(loc, "ack.contacted_heading"),
            contact_buttons=contact_buttons,
            reject_heading=t(loc, "ack.reject_heading"),
            reason_label=t(loc, "reject.reason"),
            choose_reason=t(loc, "reject.choose"),
            reasons=reasons,
            reject=t(loc, "reject.submit"),
            reject_explain=t(loc, "reject.explain"),
            snooze_heading=t(loc, "ack.snooze_heading"),
            snooze_buttons=snooze_buttons,
        )

    def _recorded(self, outcome: ClickOutcome, choice: Choice) -> list[str]:
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


def _note(text: str, tone: str) -> Html:
    return render("note", classes=f"note {tone}", text=text)


def _button(value: str, label: str, *, primary: bool = False) -> Html:
    # unquoted, as it always was: a fixed word, never a value from outside
    return render(
        "button", value=value, primary=Html(" class=primary" if primary else ""), label=label
    )


def _span(minutes: int, locale: str) -> str:
    """A snooze button's label: the Slack card's "1 d 0 h" reads oddly on a button."""
    if minutes == 1440:
        return t(locale, "ack.one_day")
    return t(locale, "duration.hours", n=minutes // 60)

"""What Microsoft Teams messages look like: pure functions from data to Adaptive Cards 1.4,
no I/O.

Limits they keep (Teams' Workflows webhooks): version 1.4 at most, no Action.Submit or
Action.Execute (a webhook card has no bot to receive them: every button is an
Action.OpenUrl to a signed one-click page), and about 28 KB a message. Lists (a digest's
leads, a summary's reps) are cut to what fits, with an "and N more" line, measured on the
envelope as it is sent.

Text from outside (lead names, sources, campaigns) goes through `plain`: TextBlocks and
facts render a Markdown subset, and a lead called `[Win a prize](https://evil)` must not
become a link in a card the bot signed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.present.i18n import t
from bot.present.report import change_line, percent, report_team, report_title
from bot.present.status import TEAMS_CARD
from bot.present.status import lead_status as status_line
from bot.present.words import human_minutes
from metrics.rates import Counts
from metrics.report import Report
from metrics.summary import Change, Summary
from metrics.views import LeadView, Person

Card = dict[str, Any]
Element = dict[str, Any]

CARD_VERSION = "1.4"
MAX_CARD_BYTES = 28_000
SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# where a summary card queued in the outbox has its chart: the sender puts the signed URL
# here when it delivers the card (a relative reference, valid in the schema)
CHART_PLACEHOLDER = "chart.png"
MAX_TEXT = 2000  # characters of any one text from outside; a card is not a document
# the Markdown subset Adaptive Cards render: emphasis, links, code, list and heading marks
_MARKDOWN = re.compile(r"([\\`*_\[\]()#>~|])")
_LIST_START = re.compile(r"^(\s*)([-+]|\d+\.)(\s)", re.MULTILINE)


def plain(text: str) -> str:
    """`text` shown as it is, never as Markdown."""
    escaped = _MARKDOWN.sub(r"\\\1", text[:MAX_TEXT])
    return _LIST_START.sub(r"\1\\\2\3", escaped)


def envelope(card: Card) -> dict[str, Any]:
    """The message a Workflows webhook takes: one Adaptive Card attachment."""
    return {
        "type": "message",
        "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def card_bytes(card: Card) -> int:
    """The size Teams measures: the envelope as compact UTF-8 JSON."""
    return len(
        json.dumps(envelope(card), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    )


def fits(card: Card) -> bool:
    return card_bytes(card) <= MAX_CARD_BYTES


def _card(body: list[Element], actions: list[Element] | None = None, fallback: str = "") -> Card:
    card: Card = {
        "$schema": SCHEMA_URL,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    if fallback:
        card["fallbackText"] = fallback[:300]
    return card


def _fit(build: Callable[[int], Card], count: int) -> Card:
    """The card showing as many of `count` items as fit (a binary search on how many:
    `build(n)` shows the first n and says how many more there are)."""
    card = build(count)
    if fits(card):
        return card
    low, high = 0, count - 1  # low always fits (or nothing does), high is the upper bound
    while low < high:
        mid = (low + high + 1) // 2
        if fits(build(mid)):
            low = mid
        else:
            high = mid - 1
    return build(low)


def text(value: str, **style: Any) -> Element:
    return {"type": "TextBlock", "text": value, "wrap": True, **style}


def heading(value: str) -> Element:
    # no `style: heading`: it is 1.5, and the 1.4 schema refuses it
    return text(value, weight="Bolder", size="Medium")


def note(value: str) -> Element:
    return text(value, isSubtle=True, size="Small", spacing="Small")


def facts(pairs: Sequence[tuple[str, str]]) -> Element:
    return {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in pairs]}


def open_url(title: str, url: str) -> Element:
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def when(moment: datetime, tz: ZoneInfo) -> str:
    """A time in the team's zone, written out: cards cannot show it in the reader's."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def person(who: Person | None, locale: str) -> str:
    if who is None:
        return t(locale, "card.nobody")
    return plain(who.display_name or who.email)


def _title(lead: LeadView) -> str:
    title = plain(lead.name or lead.email or lead.external_id)
    if lead.company:
        title += f" · {plain(lead.company)}"
    return title


def _minutes(span: timedelta) -> float:
    return span.total_seconds() / 60


def lead_status(lead: LeadView, locale: str) -> str | None:
    """One line saying what happened to the lead, or None while it is open."""
    actor = (
        person(lead.first_actor, locale) if lead.first_actor else t(locale, "teams.lead.someone")
    )
    return status_line(
        lead,
        locale,
        TEAMS_CARD,
        actor=actor,
    )


def _lead_facts(lead: LeadView, tz: ZoneInfo, locale: str) -> Element:
    pairs = [
        (t(locale, "card.source"), plain(lead.source)),
        (t(locale, "card.owner"), person(lead.owner, locale)),
        (t(locale, "card.handed_off"), when(lead.handed_off_at, tz)),
        (t(locale, "card.due"), when(lead.due_at, tz)),
    ]
    if lead.email:
        pairs.append((t(locale, "card.email"), plain(lead.email)))
    if lead.campaign:
        pairs.append((t(locale, "card.campaign"), plain(lead.campaign)))
    return facts(pairs)


def lead_card(
    lead: LeadView, links: Mapping[str, str], tz: ZoneInfo, locale: str, now: datetime
) -> Card:
    """A new lead's card. `links["ack"]` is its one-click page (which offers contacted,
    reject and snooze); `links["contacted"]` / `links["reject"]` may point a button at a
    page of its own. A lead already acted on shows what happened instead of buttons."""
    key = "teams.lead.title" if lead.owner else "teams.lead.unassigned_title"
    title = t(locale, key, team=lead.team)
    body: list[Element] = [
        heading(plain(title)),
        text(f"**{_title(lead)}**"),
        _lead_facts(lead, tz, locale),
    ]
    status = lead_status(lead, locale)
    actions: list[Element] = []
    if status is not None:
        body.append(text(status, weight="Bolder"))
    else:
        if lead.snoozed_until is not None and lead.snoozed_until > now:
            body.append(note(t(locale, "card.snoozed", until=when(lead.snoozed_until, tz))))
        ack = links["ack"]
        actions = [
            open_url(t(locale, "teams.action.contacted"), links.get("contacted", ack)),
            open_url(t(locale, "teams.action.reject_snooze"), links.get("reject", ack)),
        ]
        body.append(note(t(locale, "teams.lead.link_note")))
    return _card(body, actions, fallback=title)


# ---------------------------------------------------------------- digests

DIGEST_AUDIENCES = ("reminder", "escalation", "both")


def _digest_item(
    lead: LeadView,
    url: str | None,
    *,
    tz: ZoneInfo,
    locale: str,
    now: datetime,
    tag: str | None,
) -> Element:
    if lead.due_at <= now:
        late = human_minutes(_minutes(now - lead.due_at), locale)
        state = t(locale, "teams.digest.overdue", late=late, due=when(lead.due_at, tz))
    else:
        left = human_minutes(_minutes(lead.due_at - now), locale)
        state = t(locale, "teams.digest.due_in", left=left, due=when(lead.due_at, tz))
    held = t(locale, "teams.digest.held_by", owner=person(lead.owner, locale))
    line = " · ".join(part for part in (tag, state, held) if part)
    items: list[Element] = [
        text(f"**{_title(lead)}** ({plain(lead.source)})", spacing="Medium"),
        text(line, spacing="None", isSubtle=True),
    ]
    if url:
        items.append(
            {"type": "ActionSet", "actions": [open_url(t(locale, "teams.action.open"), url)]}
        )
    return {"type": "Container", "separator": True, "items": items}


def digest_card(  # noqa: PLR0917 (the order the brief's callers were promised)
    leads: Sequence[LeadView],
    total: int,
    audience: str,
    team: str,
    links_by_lead: Mapping[int, str],
    tz: ZoneInfo,
    locale: str,
    now: datetime,
    *,
    escalated: Collection[int] = (),
) -> Card:
    """A team channel's overdue leads (Teams has no direct messages without an Azure bot,
    so reminders and escalations both go to the channel, saying who holds each lead).
    `audience`: "reminder", "escalation" or "both"; with "both", each lead in `escalated`
    is marked escalated and the others reminders."""
    if audience not in DIGEST_AUDIENCES:
        raise ValueError(f"unknown digest audience {audience!r}")
    title = t(locale, f"teams.digest.{audience}", n=total, team=team)

    def tag(lead: LeadView) -> str | None:
        if audience != "both":
            return None
        key = "escalated_tag" if lead.id in escalated else "reminder_tag"
        return t(locale, f"teams.digest.{key}")

    def build(shown: int) -> Card:
        body: list[Element] = [heading(plain(title))]
        body += [
            _digest_item(
                lead, links_by_lead.get(lead.id), tz=tz, locale=locale, now=now, tag=tag(lead)
            )
            for lead in leads[:shown]
        ]
        if total > shown:
            body.append(text(t(locale, "teams.digest.more", n=total - shown), weight="Bolder"))
        body.append(note(t(locale, "teams.digest.footer")))
        return _card(body, fallback=title)

    return _fit(build, len(leads))


# ---------------------------------------------------------------- tables

TABLE_COLUMNS = (
    "col.counted",
    "col.ignored",
    "col.ignore_rate",
    "col.sal_rate",
    "col.late",
    "col.pending",
)


def _cell(value: str, *, head: bool = False) -> Element:
    # the bare minimum a cell: a 40-rep table is some 300 of them. No `wrap`: one line a
    # cell (the default), since the columns are separate stacks and a wrapped name would
    # put the rows out of line; no alignment or spacing, whose bytes would cost rows
    cell: Element = {"type": "TextBlock", "text": value}
    if head:
        cell["weight"] = "Bolder"
    return cell


def table(label: str, rows: Sequence[tuple[str, Counts]], locale: str) -> Element:
    """A table (names already made safe with `plain`) as one ColumnSet of column stacks:
    a ColumnSet per row would cost seven objects a row, and a 40-rep table would not fit
    in a message."""
    values = [
        [str(c.counted), str(c.ignored), percent(c.ignore_rate), percent(c.sal_rate),
         str(c.late), str(c.pending)]
        for _, c in rows
    ]  # fmt: skip
    columns: list[Element] = [
        {
            "type": "Column",
            "width": "stretch",
            "items": [
                _cell(label, head=True),
                *(_cell(name) for name, _ in rows),
            ],
        }
    ]
    for i, key in enumerate(TABLE_COLUMNS):
        columns.append(
            {
                "type": "Column",
                "width": "auto",
                "items": [_cell(t(locale, key), head=True), *(_cell(v[i]) for v in values)],
            }
        )
    return {"type": "ColumnSet", "columns": columns}


def counts_line(c: Counts, locale: str) -> str:
    return t(
        locale,
        "teams.summary.counts",
        handed_off=c.handed_off,
        counted=c.counted,
        ignored=c.ignored,
        actioned=c.actioned,
        late=c.late,
        rejected=c.rejected,
        excluded=c.excluded,
    )


# ---------------------------------------------------------------- the weekly summary


def _change(change: Change | None, summary: Summary, locale: str) -> str:
    return change_line(change, summary.previous_week, locale)


def summary_card(summary: Summary, chart_url: str, locale: str) -> Card:
    """The weekly summary: rates with their change on the week before, counts, pending,
    the median first response, a per-rep table, the top sources and the trend chart
    (an Image fetched by Teams from `chart_url`)."""
    c = summary.current
    title = t(locale, "summary.title", team=summary.team, week=summary.week)
    median = c.median_first_action_minutes
    rates = [
        (
            t(locale, "summary.ignore_rate"),
            f"{percent(c.ignore_rate)} {_change(summary.ignore_change, summary, locale)}",
        ),
        (
            t(locale, "summary.sal_rate"),
            f"{percent(c.sal_rate)} {_change(summary.sal_change, summary, locale)}",
        ),
        (
            t(locale, "summary.breach_rate"),
            f"{percent(c.sla_breach_rate)} {_change(summary.breach_change, summary, locale)}",
        ),
        (
            t(locale, "summary.median"),
            "—" if median is None else human_minutes(median, locale),
        ),
    ]
    reps = [
        (plain(rep) if rep else t(locale, "report.unassigned"), counts)
        for rep, counts in summary.by_rep
    ]
    sources = [
        (
            plain(source),
            f"{t(locale, 'col.ignore_rate')} {percent(counts.ignore_rate)} · "
            f"{t(locale, 'col.sal_rate')} {percent(counts.sal_rate)} ({counts.counted})",
        )
        for source, counts in summary.top_sources
    ]

    def build(shown: int) -> Card:
        body: list[Element] = [
            heading(plain(title)),
            note(
                t(
                    locale,
                    "summary.range",
                    start=summary.first_day.isoformat(),
                    end=summary.last_day.isoformat(),
                    tz=summary.timezone.key,
                    as_of=when(summary.as_of, summary.timezone),
                )
            ),
        ]
        if c.counted:
            body.append(facts(rates))
        else:
            body.append(text(t(locale, "report.no_leads"), weight="Bolder"))
        body.append(text(counts_line(c, locale)))
        # pending beside the rates, always: a fresh cohort must not pass for a good one
        body.append(note(t(locale, "teams.summary.pending", n=c.pending)))
        body += _table_rows(t(locale, "teams.summary.by_rep"), "rep", reps, shown, locale)
        if sources:
            body.append(text(t(locale, "teams.summary.top_sources"), weight="Bolder"))
            body.append(facts(sources))
        body.append(
            {
                "type": "Image",
                "url": chart_url,
                "altText": t(locale, "teams.summary.chart_alt"),
                "size": "Stretch",
            }
        )
        return _card(body, fallback=title)

    return _fit(build, len(reps))


# ---------------------------------------------------------------- reports


def report_card(report: Report, by: str | None, locale: str) -> Card:
    """A report (e.g. the answer to an @mention): totals, and a table by rep or by source
    when `by` is "rep" or "source"."""
    title = report_title(report, locale)
    team = report_team(report.team, locale)
    c = report.totals
    as_of = t(locale, "report.as_of", as_of=when(report.as_of, report.timezone))
    rows: list[tuple[str, Counts]] = []
    heading_key = ""
    if by == "rep":
        rows = [
            (plain(rep) if rep else t(locale, "report.unassigned"), n) for rep, n in report.by_rep
        ]
        heading_key = "report.by_rep"
    elif by == "source":
        rows = [(plain(source), n) for source, n in report.by_source]
        heading_key = "report.by_source"

    def build(shown: int) -> Card:
        body: list[Element] = [heading(plain(title)), note(f"{plain(team)} · {as_of}")]
        if c.counted:
            body.append(
                facts(
                    [
                        (t(locale, "col.ignore_rate"), percent(c.ignore_rate)),
                        (t(locale, "col.sal_rate"), percent(c.sal_rate)),
                        (t(locale, "col.sla_breach_rate"), percent(c.sla_breach_rate)),
                        (
                            t(locale, "col.median_first_action_minutes"),
                            "—"
                            if c.median_first_action_minutes is None
                            else human_minutes(c.median_first_action_minutes, locale),
                        ),
                    ]
                )
            )
        else:
            body.append(text(t(locale, "report.no_leads"), weight="Bolder"))
        body.append(text(counts_line(c, locale)))
        if c.pending:
            body.append(note(t(locale, "report.pending_note", pending=c.pending)))
        if heading_key:
            body += _table_rows(t(locale, heading_key), by or "", rows, shown, locale)
        return _card(body, fallback=title)

    return _fit(build, len(rows))


def _table_rows(
    heading_text: str, by: str, rows: Sequence[tuple[str, Counts]], shown: int, locale: str
) -> list[Element]:
    out: list[Element] = [text(heading_text, weight="Bolder", spacing="Medium")]
    if not rows:
        out.append(text(t(locale, "report.no_leads")))
        return out
    label = t(locale, "col.rep" if by == "rep" else "col.source")
    out.append(table(label, rows[:shown], locale))
    if len(rows) > shown:
        out.append(note(t(locale, "teams.more", n=len(rows) - shown)))
    return out

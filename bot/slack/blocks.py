"""What Slack messages look like: pure functions from data to Block Kit, no I/O.

Limits they keep (Slack's Block Kit reference): 50 blocks a message, 100 in a modal or
the Home tab, 3000 characters a section text, 25 elements an actions block, 10 fields a
section, 75 characters a button label, 100 options a select.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.clicks import SNOOZE_MINUTES
from bot.present.i18n import t
from bot.present.report import percent, report_team, report_title
from bot.present.status import SLACK_CARD
from bot.present.status import lead_status as status_line
from bot.present.words import human_minutes, reason_label
from bot.slack.ids import REJECT_VIEW, ActionId, contacted
from metrics.model import ContactChannel, RejectReason
from metrics.rates import Counts
from metrics.report import Report
from metrics.views import LeadView, Person

Block = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
CHANNEL_EMOJI = {
    ContactChannel.CALL: ":telephone_receiver:",
    ContactChannel.EMAIL: ":email:",
    ContactChannel.MEETING: ":handshake:",
    ContactChannel.MESSAGE: ":speech_balloon:",
    ContactChannel.OTHER: ":white_check_mark:",
}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:150], "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


def escape(text: str) -> str:
    """Slack's three control characters, so that a lead named `<!channel>` pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def when(moment: datetime, tz: ZoneInfo) -> str:
    """A time Slack shows in the reader's own time zone; the fallback is in `tz`."""
    fallback = moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def who(person: Person | None, locale: str) -> str:
    if person is None:
        return t(locale, "card.nobody")
    if person.slack_user_id:
        return f"<@{person.slack_user_id}>"
    return escape(person.email)


def in_slack(person: Person | None) -> bool:
    """An owner the card can reach; one who is not in Slack leaves the lead up for taking."""
    return person is not None and person.slack_user_id is not None


def lead_status(lead: LeadView, locale: str) -> str | None:
    """One line saying what happened to the lead, or None while it is open."""
    return status_line(
        lead,
        locale,
        SLACK_CARD,
        actor=who(lead.first_actor, locale),
    )


def lead_summary(lead: LeadView, tz: ZoneInfo, locale: str) -> Block:
    title = escape(lead.name or lead.email or lead.external_id)
    if lead.company:
        title += f" · {escape(lead.company)}"
    fields = [
        mrkdwn(f"*{t(locale, 'card.source')}*\n{escape(lead.source)}"),
        mrkdwn(f"*{t(locale, 'card.owner')}*\n{who(lead.owner, locale)}"),
        mrkdwn(f"*{t(locale, 'card.handed_off')}*\n{when(lead.handed_off_at, tz)}"),
        mrkdwn(f"*{t(locale, 'card.due')}*\n{when(lead.due_at, tz)}"),
    ]
    if lead.email:
        fields.append(mrkdwn(f"*{t(locale, 'card.email')}*\n{escape(lead.email)}"))
    if lead.campaign:
        fields.append(mrkdwn(f"*{t(locale, 'card.campaign')}*\n{escape(lead.campaign)}"))
    return {"type": "section", "text": mrkdwn(f"*{title}*"), "fields": fields}


def contact_buttons(
    lead: LeadView, locale: str, ways: Sequence[ContactChannel] = tuple(ContactChannel)
) -> list[Block]:
    return [
        {
            "type": "button",
            "action_id": contacted(c),
            "text": plain(t(locale, f"contact.{c.value}")),
            "value": str(lead.id),
            **({"style": "primary"} if c is ContactChannel.CALL else {}),
        }
        for c in ways
    ]


def reject_button(lead: LeadView, locale: str) -> Block:
    return {
        "type": "button",
        "action_id": ActionId.REJECT,
        "text": plain(t(locale, "card.reject")),
        "value": str(lead.id),
        "style": "danger",
    }


def snooze_select(lead: LeadView, locale: str) -> Block:
    return {
        "type": "static_select",
        "action_id": ActionId.SNOOZE,
        "placeholder": plain(t(locale, "card.snooze")),
        "options": [
            {"text": plain(human_minutes(m, locale)), "value": f"{lead.id}:{m}"}
            for m in SNOOZE_MINUTES
        ],
    }


def lead_buttons(lead: LeadView, locale: str) -> list[Block]:
    more: list[Block] = []
    if not in_slack(lead.owner):
        more.append(
            {
                "type": "button",
                "action_id": ActionId.TAKE,
                "text": plain(t(locale, "card.take")),
                "value": str(lead.id),
                "style": "primary",
            }
        )
    more += [
        reject_button(lead, locale),
        snooze_select(lead, locale),
        {
            "type": "users_select",
            "action_id": ActionId.REASSIGN,
            "placeholder": plain(t(locale, "card.reassign")),
        },
    ]
    return [
        {
            "type": "actions",
            "block_id": f"lead:{lead.id}:contact",
            "elements": contact_buttons(lead, locale),
        },
        {"type": "actions", "block_id": f"lead:{lead.id}:more", "elements": more},
    ]


def lead_card(lead: LeadView, tz: ZoneInfo, locale: str) -> tuple[str, list[Block]]:
    """The card a rep acts on; once acted on, the same card says what happened."""
    status = lead_status(lead, locale)
    heading = t(
        locale, "card.new_lead" if in_slack(lead.owner) else "card.unassigned_lead", team=lead.team
    )
    blocks: list[Block] = [section(f"*{heading}*"), lead_summary(lead, tz, locale)]
    if status is None:
        blocks += lead_buttons(lead, locale)
        if lead.snoozed_until is not None:
            blocks.append(context(t(locale, "card.snoozed", until=when(lead.snoozed_until, tz))))
    else:
        blocks.append(section(status))
    blocks.append(context(f"{escape(lead.source)} / {escape(lead.external_id)}"))
    text = f"{heading}: {lead.name or lead.email or lead.external_id}"
    return text, blocks


def reject_modal(
    lead: LeadView, reasons: Sequence[RejectReason], locale: str, metadata: str
) -> dict[str, Any]:
    options = [
        {
            "text": plain(
                reason_label(r.code, locale)
                + (f" ({t(locale, 'reject.not_counted')})" if r.excludes else "")
            ),
            "value": r.code,
        }
        for r in reasons[:100]
    ]
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": metadata,
        "title": plain(t(locale, "reject.title")[:24]),
        "submit": plain(t(locale, "reject.submit")),
        "close": plain(t(locale, "reject.cancel")),
        "blocks": [
            section(escape(lead.name or lead.email or lead.external_id)),
            {
                "type": "input",
                "block_id": "reason",
                "label": plain(t(locale, "reject.reason")),
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": options,
                },
            },
            context(t(locale, "reject.explain")),
        ],
    }


# ---------------------------------------------------------------- reports


def _rates_fields(c: Counts, locale: str) -> list[dict[str, Any]]:
    median = c.median_first_action_minutes
    return [
        mrkdwn(f"*{t(locale, 'col.ignore_rate')}*\n{percent(c.ignore_rate)}"),
        mrkdwn(f"*{t(locale, 'col.sal_rate')}*\n{percent(c.sal_rate)}"),
        mrkdwn(f"*{t(locale, 'col.sla_breach_rate')}*\n{percent(c.sla_breach_rate)}"),
        mrkdwn(
            f"*{t(locale, 'col.median_first_action_minutes')}*\n"
            + ("—" if median is None else human_minutes(median, locale))
        ),
    ]


def counts_line(c: Counts, locale: str) -> str:
    return t(
        locale,
        "slack.counts",
        handed_off=c.handed_off,
        excluded=c.excluded,
        counted=c.counted,
        ignored=c.ignored,
        actioned=c.actioned,
        on_time=c.on_time,
        late=c.late,
        rejected=c.rejected,
    )


def _row(label: str, c: Counts, locale: str) -> str:
    if not c.counted:
        rates = t(locale, "report.no_leads")
    else:
        rates = (
            f"{t(locale, 'slack.ignore')} {percent(c.ignore_rate)} · "
            f"SAL {percent(c.sal_rate)} · {t(locale, 'slack.breach')} {percent(c.sla_breach_rate)}"
        )
    pending = f" · {t(locale, 'slack.pending', n=c.pending)}" if c.pending else ""
    return f"• *{label}*: {rates} ({c.counted}/{c.handed_off}){pending}"


def _chunks(lines: Sequence[str], room: int) -> tuple[list[str], int]:
    """Lines packed into at most `room` section texts; how many lines did not fit."""
    texts: list[str] = []
    current = ""
    for i, line in enumerate(lines):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= MAX_SECTION_TEXT - 100:
            current = candidate
            continue
        texts.append(current)
        if len(texts) == room:
            return texts, len(lines) - i
        current = line
    if current:
        texts.append(current)
    return texts, 0


def report_blocks(report: Report, by: str | None, locale: str) -> tuple[str, list[Block]]:
    title = report_title(report, locale)
    team = report_team(report.team, locale)
    c = report.totals
    as_of = when(report.as_of, report.timezone)
    blocks: list[Block] = [
        {"type": "header", "text": plain(title)},
        context(f"{escape(team)} · {t(locale, 'report.as_of', as_of=as_of)}"),
    ]
    if c.counted:
        blocks.append({"type": "section", "fields": _rates_fields(c, locale)})
        headline = (
            f"{t(locale, 'col.ignore_rate')} {percent(c.ignore_rate)}, SAL {percent(c.sal_rate)}"
        )
    else:
        blocks.append(section(f"*{t(locale, 'report.no_leads')}*"))
        headline = t(locale, "report.no_leads")
    blocks.append(section(counts_line(c, locale)))
    if c.pending:
        blocks.append(context(t(locale, "report.pending_note", pending=c.pending)))
    if by in ("rep", "source"):
        rows = (
            [(rep or t(locale, "report.unassigned"), counts) for rep, counts in report.by_rep]
            if by == "rep"
            else list(report.by_source)
        )
        heading = t(locale, "report.by_rep" if by == "rep" else "report.by_source")
        blocks.append(section(f"*{heading}*"))
        lines = [_row(escape(label), counts, locale) for label, counts in rows]
        if not lines:
            lines = [t(locale, "report.no_leads")]
        room = MAX_MESSAGE_BLOCKS - len(blocks) - 1
        texts, left = _chunks(lines, room)
        blocks += [section(text) for text in texts]
        if left:
            blocks.append(context(t(locale, "slack.and_more", n=left)))
    return f"{title}: {headline}", blocks


# ---------------------------------------------------------------- App Home


def home_view(
    leads: Sequence[LeadView],
    total_open: int,
    tz: ZoneInfo,
    locale: str,
    manager: Sequence[tuple[Report, Sequence[tuple[str | None, int]]]] = (),
) -> dict[str, Any]:
    blocks: list[Block] = [{"type": "header", "text": plain(t(locale, "home.title"))}]
    for report, holders in manager:
        c = report.totals
        blocks.append(section(f"*{t(locale, 'home.team_week', team=escape(report.team or ''))}*"))
        if c.counted:
            blocks.append({"type": "section", "fields": _rates_fields(c, locale)})
        else:
            blocks.append(section(t(locale, "report.no_leads")))
        if c.pending:
            blocks.append(context(t(locale, "report.pending_note", pending=c.pending)))
        if holders:
            lines = [
                f"• {escape(email) if email else t(locale, 'report.unassigned')}: {n}"
                for email, n in holders[:20]
            ]
            more = len(holders) - 20
            if more > 0:
                lines.append(t(locale, "slack.and_more", n=more))
            blocks.append(section(f"*{t(locale, 'home.overdue_holders')}*\n" + "\n".join(lines)))
        else:
            blocks.append(context(t(locale, "home.no_overdue")))
        blocks.append({"type": "divider"})
    blocks.append(section(f"*{t(locale, 'home.your_open', n=total_open)}*"))
    if not leads:
        blocks.append(context(t(locale, "home.nothing_open")))
    shown = 0
    for lead in leads:
        # each lead takes five blocks; keep one for the "and N more" tail
        if len(blocks) + 5 > MAX_VIEW_BLOCKS - 1:
            break
        blocks.append(lead_summary(lead, tz, locale))
        blocks += lead_buttons(lead, locale)
        blocks.append(context(f"{escape(lead.source)} / {escape(lead.external_id)}"))
        blocks.append({"type": "divider"})
        shown += 1
    if total_open > shown and leads:
        blocks.append(context(t(locale, "slack.and_more", n=total_open - shown)))
    return {"type": "home", "blocks": blocks}


DIGEST_BLOCKS_PER_LEAD = 2


def digest_buttons(lead: LeadView, locale: str) -> Block:
    """The buttons of one lead in a digest. The block id tells a click that it came from a
    digest, so the message is amended in place rather than replaced by a lead card."""
    ways = (ContactChannel.CALL, ContactChannel.EMAIL, ContactChannel.MEETING)
    return {
        "type": "actions",
        "block_id": f"digest:{lead.id}",
        "elements": [
            *contact_buttons(lead, locale, ways),
            reject_button(lead, locale),
            snooze_select(lead, locale),
        ],
    }


def digest_line(lead: LeadView, tz: ZoneInfo, locale: str, now: datetime, *, owner: bool) -> str:
    title = escape(lead.name or lead.email or lead.external_id)
    if lead.company:
        title += f" · {escape(lead.company)}"
    if lead.due_at <= now:
        late = human_minutes((now - lead.due_at).total_seconds() / 60, locale)
        state = t(locale, "digest.overdue", late=late, due=when(lead.due_at, tz))
    else:
        left = human_minutes((lead.due_at - now).total_seconds() / 60, locale)
        state = t(locale, "digest.due_in", left=left, due=when(lead.due_at, tz))
    line = f"*{title}* ({escape(lead.source)})\n{state}"
    if owner:
        line += " · " + t(locale, "digest.held_by", owner=who(lead.owner, locale))
    return line


def digest(
    audience: str,
    leads: Sequence[LeadView],
    total: int,
    *,
    teams: Sequence[str],
    tz: ZoneInfo,
    locale: str,
    now: datetime,
) -> tuple[str, list[Block]]:
    """One message listing a person's (or a channel's) overdue leads, each with buttons;
    "and N more" past what one message can hold (50 blocks)."""
    team_names = ", ".join(teams)
    heading = t(locale, f"digest.{audience}.heading", n=total, teams=team_names)
    blocks: list[Block] = [section(f"*{escape(heading)}*")]
    room = (MAX_MESSAGE_BLOCKS - 3) // DIGEST_BLOCKS_PER_LEAD
    shown = list(leads)[:room]
    for lead in shown:
        blocks.append(section(digest_line(lead, tz, locale, now, owner=audience != "rep")))
        blocks.append(digest_buttons(lead, locale))
    if total > len(shown):
        blocks.append(context(t(locale, "digest.more", n=total - len(shown))))
    blocks.append(context(t(locale, "digest.footer")))
    return heading, blocks


def digest_resolved(blocks: list[Block], lead_id: int, status: str) -> list[Block]:
    """The digest as it was, with one lead's buttons replaced by what happened to it."""
    out = []
    for block in blocks:
        if block.get("block_id") == f"digest:{lead_id}":
            out.append(context(status))
        else:
            out.append(block)
    return out

"""What the weekly summary looks like in Slack: pure, from `metrics.summary.Summary` to
Block Kit. Keeps Block Kit's limits (50 blocks a message, 3000 characters a section text)
whatever the team's size: the per-rep table is split over monospace sections and what
does not fit is counted in an "and N more" line."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.present import table
from bot.present.i18n import t
from bot.present.report import change_line, percent
from bot.present.words import human_minutes
from bot.slack.blocks import (
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    Block,
    context,
    escape,
    mrkdwn,
    plain,
    section,
    when,
)
from metrics.rates import Counts
from metrics.summary import Change, Summary, Verdict

VERDICT_EMOJI = {
    Verdict.GOOD: ":large_green_circle:",
    Verdict.BAD: ":red_circle:",
    Verdict.NEUTRAL: ":white_circle:",
}
NAME_WIDTH = 40  # display columns of the rep column before a name is cut
FENCE = "```"
# blocks after the per-rep table: "and N more", divider, top sources, chart note
BLOCKS_AFTER_TABLE = 4


def _change_line(change: Change | None, summary: Summary, locale: str) -> str:
    emoji = "" if change is None else f"{VERDICT_EMOJI[change.verdict]} "
    return emoji + change_line(change, summary.previous_week, locale)


def _rate_fields(summary: Summary, locale: str) -> list[Block]:
    c = summary.current
    median = c.median_first_action_minutes
    rates = (
        ("summary.ignore_rate", c.ignore_rate, summary.ignore_change),
        ("summary.sal_rate", c.sal_rate, summary.sal_change),
        ("summary.breach_rate", c.sla_breach_rate, summary.breach_change),
    )
    fields = [
        mrkdwn(f"*{t(locale, key)}*\n{percent(rate)}\n{_change_line(change, summary, locale)}")
        for key, rate, change in rates
    ]
    fields.append(
        mrkdwn(
            f"*{t(locale, 'summary.median')}*\n"
            + ("—" if median is None else human_minutes(median, locale))
        )
    )
    return fields


def _cut(text: str, width: int) -> str:
    """At most `width` display columns, cut in the middle: the end of a long address
    (`…-sales-12@example.com`) tells reps apart more often than its start."""
    if table.width(text) <= width:
        return text
    head_room = (width - 1) // 2
    tail_room = width - 1 - head_room
    head = tail = ""
    for ch in text:
        if table.width(head + ch) > head_room:
            break
        head += ch
    for ch in reversed(text):
        if table.width(ch + tail) > tail_room:
            break
        tail = ch + tail
    return head + "…" + tail


def _table_lines(rows: Sequence[tuple[str | None, Counts]], locale: str) -> tuple[str, list[str]]:
    """(head, one line per rep), aligned, in display columns; not yet escaped."""
    head = [
        t(locale, key)
        for key in (
            "col.rep",
            "col.counted",
            "col.ignored",
            "col.ignore_rate",
            "col.sal_rate",
            "col.late",
            "col.pending",
        )
    ]
    cells = [
        [
            # a backtick would close the code block the table sits in
            _cut((rep or t(locale, "report.unassigned")).replace("`", "'"), NAME_WIDTH),
            str(c.counted),
            str(c.ignored),
            percent(c.ignore_rate),
            percent(c.sal_rate),
            str(c.late),
            str(c.pending),
        ]
        for rep, c in rows
    ]
    return table.aligned(head, cells)


def _table_sections(head: str, lines: Sequence[str], room: int) -> tuple[list[str], int]:
    """Monospace section texts of at most MAX_SECTION_TEXT characters each (escaped), at
    most `room` of them, each repeating the head; how many lines did not fit."""
    head = escape(head)
    texts: list[str] = []
    chunk: list[str] = []

    def text_of(body: list[str]) -> str:
        return FENCE + "\n" + head + "\n" + "\n".join(body) + "\n" + FENCE

    for i, raw in enumerate(lines):
        line = escape(raw)
        if chunk and len(text_of([*chunk, line])) > MAX_SECTION_TEXT:
            texts.append(text_of(chunk))
            chunk = []
            if len(texts) == room:
                return texts, len(lines) - i
        chunk.append(line)
    if chunk:
        if len(texts) == room:
            return texts, len(chunk)
        texts.append(text_of(chunk))
    return texts, 0


def _sources_text(summary: Summary, locale: str) -> str:
    heading = f"*{t(locale, 'summary.top_sources')}*"
    if not summary.top_sources:
        return f"{heading}\n{t(locale, 'summary.no_sources')}"
    rows = [
        t(
            locale,
            "summary.source_row",
            rank=rank,
            source=escape(name),
            rate=percent(c.ignore_rate),
            ignored=c.ignored,
            counted=c.counted,
        )
        for rank, (name, c) in enumerate(summary.top_sources, start=1)
    ]
    return heading + "\n" + "\n".join(rows)


def headline(summary: Summary, locale: str) -> str:
    c = summary.current
    if not c.counted:
        return t(locale, "summary.headline_no_leads", pending=c.pending)
    change = summary.ignore_change
    ignore = percent(c.ignore_rate) + (f" {change.arrow}" if change else "")
    return t(locale, "summary.headline", ignore=ignore, sal=percent(c.sal_rate), pending=c.pending)


def summary_blocks(summary: Summary, locale: str) -> tuple[str, list[Block]]:
    """(fallback text, blocks) of a team's weekly summary."""
    c = summary.current
    title = t(locale, "summary.title", team=summary.team, week=summary.week)
    blocks: list[Block] = [
        {"type": "header", "text": plain(title)},
        context(
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
        blocks.append({"type": "section", "fields": _rate_fields(summary, locale)})
    else:
        blocks.append(section(f"*{t(locale, 'report.no_leads')}*"))
    # pending beside the rate, always, so that a fresh cohort is not mistaken for a good one
    blocks.append(context(t(locale, "summary.pending", n=c.pending)))
    blocks.append(
        section(
            t(
                locale,
                "summary.counts",
                handed_off=c.handed_off,
                counted=c.counted,
                ignored=c.ignored,
                actioned=c.actioned,
                late=c.late,
                excluded=c.excluded,
                pending=c.pending,
            )
        )
    )
    blocks.append({"type": "divider"})
    blocks.append(section(f"*{t(locale, 'summary.by_rep')}*"))
    if summary.by_rep:
        head, lines = _table_lines(summary.by_rep, locale)
        room = MAX_MESSAGE_BLOCKS - len(blocks) - BLOCKS_AFTER_TABLE
        texts, left = _table_sections(head, lines, room)
        blocks += [section(text) for text in texts]
        if left:
            blocks.append(context(t(locale, "slack.and_more", n=left)))
    else:
        blocks.append(context(t(locale, "summary.no_reps")))
    blocks.append({"type": "divider"})
    blocks.append(section(_sources_text(summary, locale)))
    blocks.append(context(t(locale, "summary.chart_follows")))
    return f"{escape(title)}: {headline(summary, locale)}", blocks


_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")


def _unescape(text: str) -> str:
    return _DATE.sub(r"\1", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def as_text(text: str, blocks: Sequence[Block]) -> str:
    """The message as a person would read it in a terminal (for `--dry-run`)."""
    out = [_unescape(text), ""]
    for block in blocks:
        kind = block["type"]
        if kind == "divider":
            out.append("---")
        elif kind == "header":
            out.append(str(block["text"]["text"]))
        elif kind == "context":
            out += [_unescape(str(e["text"])) for e in block["elements"]]
        elif kind == "section":
            if "text" in block:
                out.append(_unescape(str(block["text"]["text"])))
            out += [_unescape(str(f["text"])) for f in block.get("fields", ())]
    return "\n".join(out) + "\n"

"""Reports as text (a table a person reads) and CSV. Numbers come from `metrics.Report`;
only the words and layout are decided here."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from bot.present.i18n import t
from bot.present.report import percent, report_team, report_title
from bot.present.table import aligned
from metrics.rates import Counts
from metrics.report import Report

COLUMNS = (
    "handed_off",
    "excluded",
    "pending",
    "counted",
    "ignored",
    "actioned",
    "on_time",
    "late",
    "rejected",
    "ignore_rate",
    "sal_rate",
    "sla_breach_rate",
    "median_first_action_minutes",
)


def duration(minutes: float | None, locale: str) -> str:
    if minutes is None:
        return "—"
    if minutes < 120:
        return t(locale, "duration.minutes", n=f"{minutes:.0f}")
    return t(locale, "duration.hours", n=f"{minutes / 60:.1f}")


def _cells(c: Counts, locale: str) -> list[str]:
    values = c.as_dict()
    out = []
    for col in COLUMNS:
        v = values[col]
        if col.endswith("_rate"):
            out.append(percent(v))
        elif col == "median_first_action_minutes":
            out.append(duration(v, locale))
        else:
            out.append(str(v))
    return out


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    top, lines = aligned(head, rows)
    return "\n".join([top, *lines])


def as_text(report: Report, locale: str) -> str:
    head_title = report_title(report, locale)
    team = report_team(report.team, locale)
    as_of = t(
        locale,
        "report.as_of",
        as_of=report.as_of.astimezone(report.timezone).strftime("%Y-%m-%d %H:%M %Z"),
    )
    totals = report.totals
    if totals.counted:
        headline = (
            f"{t(locale, 'col.ignore_rate')} {percent(totals.ignore_rate)} · "
            f"{t(locale, 'col.sal_rate')} {percent(totals.sal_rate)} · "
            f"{t(locale, 'col.sla_breach_rate')} {percent(totals.sla_breach_rate)}"
        )
    else:
        headline = t(locale, "report.no_leads")
    parts = [head_title, f"{team} · {as_of}", "", headline]
    if totals.pending:
        parts.append(t(locale, "report.pending_note", pending=totals.pending))
    head = ["", *(t(locale, f"col.{c}") for c in COLUMNS)]
    parts += ["", _table(head, [[t(locale, "report.totals"), *_cells(totals, locale)]])]
    if report.by_rep:
        rows = [
            [rep or t(locale, "report.unassigned"), *_cells(c, locale)] for rep, c in report.by_rep
        ]
        parts += ["", t(locale, "report.by_rep"), _table([t(locale, "col.rep"), *head[1:]], rows)]
    if report.by_source:
        rows = [[src, *_cells(c, locale)] for src, c in report.by_source]
        parts += [
            "",
            t(locale, "report.by_source"),
            _table([t(locale, "col.source"), *head[1:]], rows),
        ]
    return "\n".join(parts) + "\n"


# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"), and the
# full-width forms a Japanese spreadsheet may take for them
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def spreadsheet_cell(value: object) -> str:
    """A CSV cell no spreadsheet runs: text whose first character, after any spaces, may
    start a formula gets a leading single quote, which spreadsheets show as text. Applied
    to every cell, numbers included: no number we write is negative."""
    text = "" if value is None else str(value)
    if text.lstrip(" ")[:1] in FORMULA_STARTS:
        return "'" + text
    return text


def as_csv(report: Report) -> str:
    """One row per group: total, each rep, each source; raw numbers, rates unrounded.
    Cells are safe to open in a spreadsheet (spreadsheet_cell)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["group", "key", *COLUMNS])

    def row(group: str, key: str, c: Counts) -> None:
        values = c.as_dict()
        cells = [group, key, *("" if values[k] is None else values[k] for k in COLUMNS)]
        w.writerow([spreadsheet_cell(cell) for cell in cells])

    row("total", report.team or "all", report.totals)
    for rep, c in report.by_rep:
        row("rep", rep or "", c)
    for src, c in report.by_source:
        row("source", src, c)
    return out.getvalue()

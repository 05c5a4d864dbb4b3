"""The words of a report and a weekly summary that every platform writes the same: the
title, the team line, a rate, and the change on the week before."""

from __future__ import annotations

from datetime import timedelta

from bot.present.i18n import t
from metrics.report import Report
from metrics.summary import Change, Verdict


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def report_title(report: Report, locale: str) -> str:
    """ "Ignore rate, last-month (2026-10-01 to 2026-10-31, Asia/Tokyo)": the period's
    name, its first and last day in the report's time zone."""
    start, _end = report.bounds
    return t(
        locale,
        "report.title",
        period=report.period.name,
        start=start.date().isoformat(),
        end=(report.period.end_day - timedelta(days=1)).isoformat(),
        tz=report.timezone.key,
    )


def report_team(team: str | None, locale: str) -> str:
    """Which team the report is about (None: all of them)."""
    return t(locale, "report.team", team=team) if team else t(locale, "report.all_teams")


def change_line(change: Change | None, previous_week: str, locale: str) -> str:
    """How a rate moved since `previous_week`, or that there is nothing to compare with."""
    if change is None:
        return t(locale, "summary.no_comparison", week=previous_week)
    delta = "±0.0" if change.verdict is Verdict.NEUTRAL else f"{change.delta:+.1f}"
    return t(
        locale,
        "summary.change",
        arrow=change.arrow,
        delta=delta,
        week=previous_week,
        previous=percent(change.previous),
        verdict=t(locale, f"summary.{change.verdict.value}"),
    )

"""The `/ignorerate` argument grammar: what a person types after the command in Slack, or
after an @mention of the bot in Teams, read as a `ReportRequest`. Platform-free: each
platform strips its own markup first and answers in its own way."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.present.i18n import t

DEFAULT_PERIOD = "last-7-days"
HELP_WORDS = {"help", "ヘルプ", "使い方", "?"}
DASHBOARD_WORDS = {"dashboard", "ダッシュボード"}
PUBLIC_WORDS = {"public", "公開"}
TEAM_PREFIXES = ("team:", "チーム:")
BY_PREFIXES = ("by:", "内訳:")
BY_VALUES = {"rep": "rep", "source": "source", "担当者": "rep", "流入元": "source"}


@dataclass(frozen=True)
class ReportRequest:
    period: str = DEFAULT_PERIOD
    team: str | None = None
    by: str | None = None
    public: bool = False
    help: bool = False
    dashboard: bool = False  # the link to the dashboard, and nothing else


class CommandError(ValueError):
    """A message for the person who typed the command, in their language."""


def parse_command(text: str, locale: str) -> ReportRequest:
    """`[PERIOD] [team:NAME] [by:rep|source] [public]` in any order; `help` or `dashboard`
    alone.
    Full-width characters and the ideographic space are read as their ASCII forms."""
    tokens = unicodedata.normalize("NFKC", text or "").split()
    period: str | None = None
    team: str | None = None
    by: str | None = None
    public = False
    for token in tokens:
        low = token.lower()
        if low in HELP_WORDS:
            return ReportRequest(help=True)
        if low in DASHBOARD_WORDS and len(tokens) == 1:
            return ReportRequest(dashboard=True)
        if low in PUBLIC_WORDS:
            public = True
        elif low.startswith(TEAM_PREFIXES):
            team = token.split(":", 1)[1].strip() or None
            if team is None:
                raise CommandError(t(locale, "command.bad_option", token=token, detail="team:NAME"))
        elif low.startswith(BY_PREFIXES):
            value = BY_VALUES.get(low.split(":", 1)[1])
            if value is None:
                raise CommandError(
                    t(
                        locale,
                        "command.bad_option",
                        token=token,
                        detail=t(locale, "command.by_values"),
                    )
                )
            by = value
        elif period is None:
            period = token
        else:
            raise CommandError(t(locale, "command.two_periods", first=period, second=token))
    return ReportRequest(period or DEFAULT_PERIOD, team, by, public)


def dashboard_answer(url: str | None, locale: str) -> str:
    """The answer to `dashboard`: its link, or who turns it on when it is off (`url` None)."""
    if url is None:
        return t(locale, "command.dashboard_off")
    return t(locale, "command.dashboard", url=url)

"""Words every platform says the same way: a Slack message, a Teams card and a one-click
page name a reject reason, and a span of minutes, alike."""

from __future__ import annotations

from bot.present.i18n import t


def reason_label(code: str, locale: str) -> str:
    """A reject or exclusion reason in the reader's language; an unknown code as words."""
    key = f"reason.{code}"
    try:
        return t(locale, key)
    except KeyError:
        return code.replace("_", " ")


def human_minutes(minutes: float, locale: str) -> str:
    """A span of minutes in the largest two units: "3 h 5 min", "1 d", "45 min"."""
    total = max(0, round(minutes))
    days, rest = divmod(total, 1440)
    hours, mins = divmod(rest, 60)
    if days:  # a zero part is left out: "1 d", not "1 d 0 h"
        key = "span.days_hours" if hours else "span.days"
        return t(locale, key, d=days, h=hours)
    if hours:
        key = "span.hours_minutes" if mins else "span.hours"
        return t(locale, key, h=hours, m=mins)
    return t(locale, "span.minutes", m=mins)

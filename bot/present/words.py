"""Words every platform says the same way: a Slack message, a Teams card and a one-click
page name a reject reason alike."""

from __future__ import annotations

from bot.i18n import t


def reason_label(code: str, locale: str) -> str:
    """A reject or exclusion reason in the reader's language; an unknown code as words."""
    key = f"reason.{code}"
    try:
        return t(locale, key)
    except KeyError:
        return code.replace("_", " ")

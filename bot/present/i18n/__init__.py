"""Every user-facing string, in English and Japanese. `t(locale, key, **values)`."""

from __future__ import annotations

from bot.present.i18n.catalog import CATALOG

LOCALES = ("en", "ja")


def t(locale: str, key: str, **values: object) -> str:
    entry = CATALOG[key]
    text = entry.get(locale) or entry["en"]
    return text.format(**values) if values else text


def missing_keys() -> dict[str, list[str]]:
    """locale -> keys without a text in it (a test keeps this empty)."""
    return {
        loc: sorted(k for k, v in CATALOG.items() if not v.get(loc, "").strip()) for loc in LOCALES
    }

from __future__ import annotations

import string

from bot.present.i18n import LOCALES, missing_keys, t
from bot.present.i18n.catalog import CATALOG


def test_every_key_has_every_language() -> None:
    assert missing_keys() == {loc: [] for loc in LOCALES}


def test_translations_take_the_same_placeholders() -> None:
    for key, texts in CATALOG.items():
        fields = {
            loc: {f for _, f, _, _ in string.Formatter().parse(texts[loc]) if f} for loc in LOCALES
        }
        assert fields["en"] == fields["ja"], key


def test_japanese_text_is_chosen_by_locale() -> None:
    assert t("ja", "report.no_leads") == "集計対象のリードなし"
    assert t("en", "report.no_leads") == "no leads to count"

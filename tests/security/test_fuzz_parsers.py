"""Anything a person types or an operator writes is either understood or answered with a
message that says what is accepted: never another exception, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ConfigError, Settings, parse_settings
from bot.present.command import CommandError, ReportRequest, parse_command
from metrics.errors import PeriodError
from metrics.periods import ACCEPTED_FORMS, Period, parse_period

T = TypeVar("T")


def attempt(function: Callable[..., T], *args: Any) -> T | Exception:
    """The result, or the error a person is meant to read; any other exception escapes
    and fails the test."""
    try:
        return function(*args)
    except (PeriodError, CommandError, ConfigError) as err:
        return err


# text that looks like the accepted forms as often as it looks like noise
PERIODISH = st.one_of(
    st.text(),
    st.from_regex(
        r"\A(last-\d{1,12}-(days|weeks)|\d{1,6}(-\d{1,3}(-\d{1,3})?)?|\d{4}-[qQwW]\d{1,3}"
        r"|\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}|過去\d{1,9}(日|週間))\Z"
    ),
    st.sampled_from(ACCEPTED_FORMS).map(lambda f: f.replace("N", "0").replace("YYYY", "0000")),
)


@settings(max_examples=300)
@given(PERIODISH, st.dates())
def test_any_period_text_is_a_period_or_an_error_listing_the_accepted_forms(
    text: str, today: date
) -> None:
    period = attempt(parse_period, text, today)
    if isinstance(period, PeriodError):
        assert "accepted forms: " + ", ".join(ACCEPTED_FORMS) in str(period)
    else:
        assert isinstance(period, Period)
        assert period.first_day < period.end_day


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(
            st.text(),
            st.sampled_from(["team:", "チーム:", "by:", "内訳:", "public", "help", "ヘルプ"]),
            st.text().map(lambda s: "team:" + s),
            st.text().map(lambda s: "by:" + s),
        ),
        max_size=5,
    ).map(" ".join),
    st.sampled_from(["en", "ja"]),
)
def test_any_command_text_is_a_request_or_a_command_error(text: str, locale: str) -> None:
    request = attempt(parse_command, text, locale)
    if isinstance(request, CommandError):
        assert str(request).strip()
    else:
        assert isinstance(request, ReportRequest)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["Asia/Tokyo", "en", "ja", "a@example.com", "09:00-18:00", "mon-fri"]),
)
KEYS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "timezone",
            "locale",
            "teams",
            "admins",
            "reject_reasons",
            "database_url",
            "delivery",
            "name",
            "sla",
            "minutes",
            "business_hours",
            "holidays",
            "holiday_country",
            "slack_channel",
            "managers",
            "reps",
            "handoff_channels",
            "channel",
            "source",
            "pattern",
            "post_to_channel",
            "nudges",
            "summary",
            "teams_webhook",
            "teams_channel",
            "heads_up_minutes",
            "escalate_after_minutes",
            "max_attempts",
            "per_second",
            "code",
            "excludes",
            "day",
            "time",
        ]
    ),
)
YAMLISH: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=25,
)
TEAMISH = st.fixed_dictionaries(
    {"name": st.text(max_size=8)},
    optional={
        "timezone": SCALARS,
        "sla": YAMLISH,
        "business_hours": YAMLISH,
        "holidays": YAMLISH,
        "holiday_country": SCALARS,
        "reps": YAMLISH,
        "managers": YAMLISH,
        "handoff_channels": YAMLISH,
        "nudges": YAMLISH,
        "summary": YAMLISH,
        "teams_webhook": YAMLISH,
    },
)


@settings(max_examples=300)
@given(
    st.one_of(
        YAMLISH,
        st.fixed_dictionaries(
            {},
            optional={
                "timezone": SCALARS,
                "locale": SCALARS,
                "teams": st.lists(TEAMISH | YAMLISH, max_size=3),
                "admins": YAMLISH,
                "reject_reasons": YAMLISH,
                "delivery": YAMLISH,
            },
        ),
    )
)
def test_any_config_structure_is_settings_or_a_config_error_naming_a_key(raw: Any) -> None:
    result = attempt(parse_settings, raw, "fuzz.yml", {})
    if isinstance(result, ConfigError):
        assert str(result).startswith("fuzz.yml: ")
        # the key path, or else the whole file is what is wrong
        assert result.key or str(result).startswith("fuzz.yml: expected a mapping"), result
    else:
        assert isinstance(result, Settings)

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, Environment, load_settings, parse_settings, read_environment

GOOD = """\
timezone: Asia/Tokyo
locale: ja
teams:
  - name: enterprise
    timezone: Asia/Tokyo
    sla: {minutes: 240, business_hours: true}
    business_hours: {mon-fri: "09:00-18:00"}
    holidays: ["2026-11-23"]
    holiday_country: JP
    slack_channel: C0123ABCD
    managers: [boss@example.com]
    reps: [a@example.com, B@Example.com]
  - name: smb
    timezone: America/New_York
    sla: {minutes: 1440, business_hours: false}
    reps: [c@example.com]
"""


def _parse(text: str) -> Any:
    return parse_settings(yaml.safe_load(text), "ignorerate.yml", env={})


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        _parse(text)
    return str(caught.value)


def test_the_documented_shape_loads() -> None:
    s = _parse(GOOD)
    assert s.locale == "ja"
    assert s.timezone.key == "Asia/Tokyo"
    ent = s.team("enterprise")
    assert ent is not None
    assert ent.sla.minutes == 240
    assert ent.reps == ("a@example.com", "b@example.com")
    assert date(2026, 11, 23) in ent.holidays  # listed
    assert date(2026, 11, 3) in ent.holidays  # Culture Day, from the JP calendar
    assert date(2026, 11, 24) not in ent.holidays
    smb = s.team("smb")
    assert smb is not None
    assert smb.sla.business_hours is False


def test_team_calendar_uses_listed_and_country_holidays() -> None:
    ent = _parse(GOOD).team("enterprise")
    assert ent is not None
    # Friday 2026-11-20 17:30 JST + 240 business minutes: Mon 23rd listed holiday -> Tue 24th.
    due = ent.calendar.add_business_minutes(datetime(2026, 11, 20, 8, 30, tzinfo=UTC), 240)
    assert due.astimezone(UTC) == datetime(2026, 11, 24, 3, 30, tzinfo=UTC)


def test_bad_minutes_names_file_key_and_expectation() -> None:
    text = GOOD.replace("minutes: 1440", 'minutes: "abc"')
    assert (
        _error(text)
        == 'ignorerate.yml: teams[1].sla.minutes: expected a positive integer, got "abc"'
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("timezone: Asia/Tokyo\nlocale", "timezone: Mars/Base\nlocale"),
            'timezone: expected an IANA time zone such as "Asia/Tokyo", got "Mars/Base"',
        ),
        (("locale: ja", "locale: fr"), 'locale: expected one of en, ja, got "fr"'),
        (
            ("minutes: 240", "minutes: 0"),
            "teams[0].sla.minutes: expected a positive integer, got 0",
        ),
        (
            ("business_hours: true", "business_hours: yes please"),
            'teams[0].sla.business_hours: expected true or false, got "yes please"',
        ),
        (
            ('"2026-11-23"', '"2026-13-01"'),
            'teams[0].holidays[0]: expected a date YYYY-MM-DD, got "2026-13-01"',
        ),
        (
            ("holiday_country: JP", "holiday_country: XX"),
            "teams[0].holiday_country: expected an ISO 3166 country code",
        ),
        (
            ("reps: [c@example.com]", "reps: [nobody]"),
            'teams[1].reps[0]: expected an email address, got "nobody"',
        ),
        (
            ("slack_channel: C0123ABCD", "slak_channel: C0123ABCD"),
            "teams[0].slak_channel: unknown key; known keys here: name, timezone, sla",
        ),
        (
            ("slack_channel: C0123ABCD", "slack_token: xoxb-123"),
            "teams[0].slack_token: secrets are read from the environment",
        ),
        (("name: smb", "name: enterprise"), 'teams[1].name: "enterprise" names two teams'),
        (("name: smb", "name: all"), 'teams[1].name: "all" is reserved'),
        (('mon-fri: "09:00-18:00"', 'mon-fry: "09:00-18:00"'), "teams[0].business_hours:"),
        (
            (
                "reps: [c@example.com]",
                "reps: [c@example.com]\n    nudges: {escalate_after_minutes: soon}",
            ),
            'teams[1].nudges.escalate_after_minutes: expected a positive integer, got "soon"',
        ),
        (
            ("reps: [c@example.com]", "reps: [c@example.com]\n    nudges: {remind: 5}"),
            "teams[1].nudges.remind: unknown key; known keys here: heads_up_minutes",
        ),
        (
            ("reps: [c@example.com]", "reps: [c@example.com]\n    summary: {day: someday}"),
            'teams[1].summary.day: expected a day mon..sun, got "someday"',
        ),
        (
            ("reps: [c@example.com]", 'reps: [c@example.com]\n    summary: {time: "9am"}'),
            'teams[1].summary.time: expected a local time HH:MM such as "09:00", got "9am"',
        ),
        (
            ("locale: ja", "locale: ja\ndelivery: {per_second: -1}"),
            "delivery.per_second: expected a positive number, got -1",
        ),
    ],
)
def test_each_bad_value_is_named_precisely(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    assert message in _error(GOOD.replace(old, new, 1))


def test_a_missing_sla_says_what_it_expects() -> None:
    text = GOOD.replace("    sla: {minutes: 1440, business_hours: false}\n", "")
    assert "teams[1].sla: missing; expected {minutes: N, business_hours: true|false}" in _error(
        text
    )


def test_database_url_comes_from_the_environment_first() -> None:
    raw = yaml.safe_load(GOOD + "database_url: sqlite:///from-file.db\n")
    assert parse_settings(raw, "f", env={}).database_url == "sqlite:///from-file.db"
    env = {"DATABASE_URL": "postgresql+psycopg://x@h/db"}
    assert parse_settings(raw, "f", env=env).database_url == "postgresql+psycopg://x@h/db"


def test_reject_reasons_default_and_custom() -> None:
    s = _parse(GOOD)
    dup = s.reason("Duplicate")
    assert dup is not None
    assert dup.excludes
    budget = s.reason("no-budget")
    assert budget is not None
    assert not budget.excludes
    custom = _parse(GOOD + "reject_reasons:\n  - {code: Student, excludes: true}\n")
    student = custom.reason("student")
    assert student is not None
    assert student.excludes
    assert custom.reason("duplicate") is None


def test_missing_file_and_broken_yaml_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file; `ignorerate init` writes"):
        load_settings(tmp_path / "none.yml", env={})
    broken = tmp_path / "broken.yml"
    broken.write_text("teams:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yml: not valid YAML: line \d+, column \d+"):
        load_settings(broken, env={})


def test_empty_file_is_a_valid_config_with_no_teams(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")
    s = load_settings(empty, env={})
    assert s.teams == ()
    assert s.locale == "en"


def test_nudges_and_summary_have_defaults_and_follow_the_sla_calendar() -> None:
    s = _parse(GOOD)
    ent, smb = s.teams
    assert ent.nudges.escalate_after_minutes == 60
    assert ent.nudges.heads_up_minutes is None
    assert ent.nudges.business_hours is True
    assert smb.nudges.business_hours is False  # its SLA counts elapsed time
    assert (ent.summary.weekday, ent.summary.at.hour, ent.summary.enabled) == (0, 9, True)
    custom = _parse(
        GOOD.replace(
            "reps: [c@example.com]",
            "reps: [c@example.com]\n    nudges: {escalate_after_minutes: null, "
            "reassign_after_minutes: 120}\n    summary: {day: Friday, time: '17:30'}",
        )
    ).teams[1]
    assert custom.nudges.escalate_after_minutes is None
    assert custom.nudges.reassign_after_minutes == 120
    assert (custom.summary.weekday, custom.summary.at.hour, custom.summary.at.minute) == (4, 17, 30)
    off = _parse(GOOD.replace("reps: [c@example.com]", "reps: [c@example.com]\n    summary: false"))
    assert off.teams[1].summary.enabled is False


def test_a_teams_webhook_may_come_from_the_environment_and_must_be_https() -> None:
    text = GOOD.replace(
        "reps: [c@example.com]",
        "reps: [c@example.com]\n    teams_webhook: env:SMB_HOOK\n    teams_channel: '19:x@thread'",
    )
    url = "https://example.webhook.office.com/workflows/abc?sig=s3cret"
    s = parse_settings(yaml.safe_load(text), "ignorerate.yml", env={"SMB_HOOK": url})
    assert s.teams[1].teams_webhook == url
    assert s.teams[1].teams_channel == "19:x@thread"
    assert "s3cret" not in repr(s.teams[1])  # never printed with the settings
    with pytest.raises(ConfigError, match="SMB_HOOK is not set"):
        parse_settings(yaml.safe_load(text), "ignorerate.yml", env={})
    plain_http = text.replace("env:SMB_HOOK", "http://example.com/hook")
    with pytest.raises(ConfigError, match="expected the https:// URL"):
        parse_settings(yaml.safe_load(plain_http), "ignorerate.yml", env={})


def _load_error(tmp_path: Path, content: bytes | str, env: dict[str, str] | None = None) -> str:
    path = tmp_path / "ignorerate.yml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env or {})
    return str(caught.value)


def test_a_file_not_in_utf8_is_one_line_naming_the_file_and_the_encoding(
    tmp_path: Path,
) -> None:
    shift_jis = GOOD.replace("name: smb", "name: 営業").encode("shift_jis")
    message = _load_error(tmp_path, shift_jis)
    assert message.startswith(f"{tmp_path / 'ignorerate.yml'}: not UTF-8 text (byte 0x")
    assert "on line 13" in message
    assert message.endswith("expected the file saved as UTF-8")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.replace("    slack_channel: C0123ABCD\n", "    sla: {minutes: 60}\n"),
            "teams[0].sla: given twice, on line 6 and on line 10",
        ),
        (
            GOOD.replace("minutes: 240,", "minutes: 240, minutes: 30,"),
            "teams[0].sla.minutes: given twice, on line 6 and on line 6",
        ),
        (GOOD + "locale: en\n", "locale: given twice, on line 2 and on line 17"),
    ],
)
def test_a_key_given_twice_is_refused_with_its_path_and_lines(
    tmp_path: Path, text: str, message: str
) -> None:
    assert _load_error(tmp_path, text) == f"{tmp_path / 'ignorerate.yml'}: {message}"


def test_of_two_keys_given_twice_the_first_in_the_file_is_named(tmp_path: Path) -> None:
    text = GOOD.replace("minutes: 240,", "minutes: 240, minutes: 30,").replace(
        "minutes: 1440,", "minutes: 1440, minutes: 30,"
    )
    assert _load_error(tmp_path, text).endswith(
        "teams[0].sla.minutes: given twice, on line 6 and on line 6"
    )


def test_a_merge_key_may_still_override_what_it_merges(tmp_path: Path) -> None:
    path = tmp_path / "ignorerate.yml"
    path.write_text(
        "teams:\n"
        "  - name: a\n"
        "    sla: &sla {minutes: 60, business_hours: false}\n"
        "  - name: b\n"
        "    sla: {<<: *sla, minutes: 90}\n",
        encoding="utf-8",
    )
    s = load_settings(path, env={})
    assert [t.sla.minutes for t in s.teams] == [60, 90]


def test_a_reject_reason_code_given_twice_is_refused() -> None:
    text = GOOD + "reject_reasons:\n  - {code: not_a_fit}\n  - {code: Not a fit}\n"
    assert _error(text) == (
        'ignorerate.yml: reject_reasons[1].code: "not_a_fit" is already reject_reasons[0]; '
        "each code once"
    )


@pytest.mark.parametrize("teams", ["teams: []\n", "teams:\n"])
def test_an_empty_teams_list_is_refused(teams: str) -> None:
    assert _error("timezone: UTC\n" + teams) == (
        "ignorerate.yml: teams: lists no team; expected at least one {name, sla, ...}"
    )


SECRETS = [
    (
        "teams_webhook: https://prod.westus.logic.azure.com/workflows/1/triggers/manual"
        "/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers&sv=1.0&sig=AbC123",
        "teams[1].teams_webhook: looks like a secret written into the file "
        "(a URL carrying sig=); put it in an environment variable and write env:NAME here",
    ),
    (
        "teams_webhook: https://example.com/hook?Token=abc",
        "teams[1].teams_webhook: looks like a secret written into the file (a URL carrying token=)",
    ),
    (
        "slack_channel: xoxb-1234-5678-abcdefgh",
        "teams[1].slack_channel: looks like a secret written into the file (a Slack token); "
        "secrets are read from the environment, never from this file",
    ),
    (
        "managers: [boss@example.com, xapp-1-A0-123-abc]",
        "teams[1].managers[1]: looks like a secret written into the file (a Slack token)",
    ),
]


@pytest.mark.parametrize(("line", "message"), SECRETS)
def test_a_secret_written_into_the_file_is_refused_without_echoing_it(
    tmp_path: Path, line: str, message: str
) -> None:
    text = GOOD.replace("reps: [c@example.com]", f"reps: [c@example.com]\n    {line}")
    error = _load_error(tmp_path, text)
    assert error.startswith(f"{tmp_path / 'ignorerate.yml'}: {message}")
    for secret in ("AbC123", "Token=abc", "xoxb-1234", "xapp-1"):
        assert secret not in error


def test_a_database_password_in_the_file_is_refused_and_env_is_taken(tmp_path: Path) -> None:
    with_password = GOOD + "database_url: postgresql+psycopg://app:hunter2@db/ignorerate\n"
    error = _load_error(tmp_path, with_password)
    assert error.endswith(
        "database_url: looks like a secret written into the file (a URL with a password); "
        "put it in an environment variable and write env:NAME here"
    )
    assert "hunter2" not in error
    path = tmp_path / "ignorerate.yml"
    path.write_text(GOOD + "database_url: env:IGNORERATE_DB\n", encoding="utf-8")
    url = "postgresql+psycopg://app:hunter2@db/ignorerate"
    assert load_settings(path, env={"IGNORERATE_DB": url}).database_url == url
    with pytest.raises(ConfigError, match="database_url: the environment variable IGNORERATE_DB"):
        load_settings(path, env={})


def test_an_env_reference_and_plain_urls_are_not_secrets(tmp_path: Path) -> None:
    path = tmp_path / "ignorerate.yml"
    text = GOOD.replace(
        "reps: [c@example.com]",
        "reps: [c@example.com]\n    teams_webhook: env:SMB_HOOK\n"
        "    handoff_channels: [{channel: CX, pattern: 'https://crm/(?P<external_id>\\d+)'}]",
    )
    path.write_text(text + "database_url: sqlite:///ignorerate.db\n", encoding="utf-8")
    hook = "https://example.webhook.office.com/workflows/abc?sig=s3cret"
    assert load_settings(path, env={"SMB_HOOK": hook}).teams[1].teams_webhook == hook


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("minutes: 1440", "minutes: 525601"),
            "teams[1].sla.minutes: expected at most 525600 minutes (365 days), got 525601",
        ),
        (
            (
                "reps: [c@example.com]",
                "reps: [c@example.com]\n    nudges: {heads_up_minutes: 525601}",
            ),
            "teams[1].nudges.heads_up_minutes: expected at most 525600 minutes (365 days)",
        ),
        (
            (
                "reps: [c@example.com]",
                "reps: [c@example.com]\n    nudges: {escalate_after_minutes: 99999999999999}",
            ),
            "teams[1].nudges.escalate_after_minutes: expected at most 525600 minutes (365 days), "
            "got 99999999999999",
        ),
        (
            (
                "reps: [c@example.com]",
                "reps: [c@example.com]\n    nudges: {reassign_after_minutes: 600000}",
            ),
            "teams[1].nudges.reassign_after_minutes: expected at most 525600 minutes",
        ),
        (
            (
                "reps: [c@example.com]",
                "reps: [c@example.com]\n    nudges: {lookback_days: 999999999}",
            ),
            "teams[1].nudges.lookback_days: expected at most 3660 days (about ten years), "
            "got 999999999",
        ),
    ],
)
def test_delays_beyond_the_stated_maximum_are_refused(
    change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD
    assert message in _error(GOOD.replace(old, new, 1))


def test_the_largest_delays_allowed_give_deadlines_from_the_last_supported_instant() -> None:
    text = GOOD.replace("minutes: 240", "minutes: 525600").replace(
        "reps: [c@example.com]",
        "reps: [c@example.com]\n    nudges: {escalate_after_minutes: 525600, "
        "reassign_after_minutes: 525600, lookback_days: 3660}",
    )
    s = _parse(text.replace("minutes: 1440, business_hours: false", "minutes: 525600"))
    last = datetime(2099, 12, 31, 23, 59, tzinfo=UTC)
    for team in s.teams:
        due = team.calendar.add_business_minutes(last, team.sla.minutes)
        assert team.calendar.add_business_minutes(due, 525600) > due


def test_a_business_hours_sla_the_calendar_cannot_count_is_refused_with_its_maximum() -> None:
    rare = GOOD.replace(
        'business_hours: {mon-fri: "09:00-18:00"}', 'business_hours: {mon: "09:00-10:00"}'
    )
    assert _parse(rare.replace("minutes: 240", "minutes: 10000")).teams[0].sla.minutes == 10000
    message = _error(rare.replace("minutes: 240", "minutes: 30000"))
    assert message.startswith(
        "ignorerate.yml: teams[0].sla.minutes: 30000 business minutes do not fit these "
        "business hours (teams[0].business_hours and holidays): a deadline could lie more "
        "than 3700 days ahead; at most "
    )
    most = int(message.rsplit(" ", 2)[-2])
    ent = _parse(rare.replace("minutes: 240", f"minutes: {most}")).teams[0]
    start = datetime(2026, 11, 24, tzinfo=UTC)
    assert ent.calendar.add_business_minutes(start, most) > start
    # the same delay counted as elapsed time needs no calendar
    elapsed = rare.replace(
        "minutes: 240, business_hours: true", "minutes: 30000, business_hours: false"
    )
    assert _parse(elapsed).teams[0].sla.minutes == 30000


def test_a_business_hours_escalation_the_calendar_cannot_count_is_refused() -> None:
    rare = GOOD.replace(
        'business_hours: {mon-fri: "09:00-18:00"}', 'business_hours: {mon: "09:00-10:00"}'
    )
    text = rare.replace(
        "holiday_country: JP", "holiday_country: JP\n    nudges: {escalate_after_minutes: 500000}"
    )
    assert "teams[0].nudges.escalate_after_minutes: 500000 business minutes do not fit" in _error(
        text
    )


def test_the_environment_is_read_once_into_typed_values() -> None:
    env = read_environment(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "signing",
            "SLACK_APP_TOKEN": "xapp-1",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "SLACK_API_TIMEOUT": "7",
            "IGNORERATE_OUTBOX_LEASE": "300",
            "IGNORERATE_WEBHOOK_SECRET": "hook",
            "IGNORERATE_WEBHOOK_TOKEN": "a-webhook-token-of-16+",
            "PUBLIC_BASE_URL": "  https://bot.example.com/ ",
            "IGNORERATE_LINK_SECRET": "a-link-secret-of-16+",
            "IGNORERATE_METRICS_TOKEN": "metrics",
            "TEAMS_OUTGOING_SECRET": "teams",
            "UNRELATED": "x",
        }
    )
    assert env == Environment(
        slack_bot_token="xoxb-1",
        slack_signing_secret="signing",
        slack_app_token="xapp-1",
        slack_api_url="http://127.0.0.1:9/api/",
        slack_api_timeout=7,
        outbox_lease=timedelta(seconds=300),
        webhook_secret="hook",
        webhook_token="a-webhook-token-of-16+",
        public_base_url="https://bot.example.com/",
        link_secret="a-link-secret-of-16+",
        metrics_token="metrics",
        teams_outgoing_secret="teams",
    )
    with pytest.raises(AttributeError):
        env.slack_api_timeout = 8  # type: ignore[misc]  # frozen
    # secrets stay out of its repr (and so out of any log line that shows it)
    for secret in (
        "xoxb-1",
        "signing",
        "xapp-1",
        "hook",
        "a-webhook-token",
        "a-link-secret",
        "metrics",
        "teams",
    ):
        assert secret not in repr(env)


def test_an_empty_environment_gives_the_defaults() -> None:
    env = read_environment({})
    assert env == Environment()
    assert env.slack_bot_token is None
    assert env.slack_api_timeout == 10
    assert env.outbox_lease is None  # the outbox's own lease
    assert env.public_base_url == ""
    assert env.link_secret == ""
    assert env.metrics_token is None
    # an empty metrics token is none at all
    assert read_environment({"IGNORERATE_METRICS_TOKEN": ""}).metrics_token is None
    assert env.webhook_token is None
    assert read_environment({"IGNORERATE_WEBHOOK_TOKEN": ""}).webhook_token is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short-token", "is 11 characters; a token needs 16 or more"),
        ("x" * 15, "is 15 characters; a token needs 16 or more"),
        ("a token with spaces in it", "has a space, a control character or a character outside"),
        ("tab\tseparated-token-text", "has a space, a control character"),
        ("トークン-token-0123456789", "has a space, a control character"),
    ],
)
def test_a_webhook_token_too_short_or_not_sendable_in_a_header_is_refused(
    value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read_environment({"IGNORERATE_WEBHOOK_TOKEN": value})
    text = str(caught.value)
    assert text.startswith("environment: IGNORERATE_WEBHOOK_TOKEN: ")
    assert message in text
    assert value not in text  # the value is a secret: never shown
    assert read_environment({"IGNORERATE_WEBHOOK_TOKEN": "x" * 16}).webhook_token == "x" * 16


@pytest.mark.parametrize("name", ["SLACK_API_TIMEOUT", "IGNORERATE_OUTBOX_LEASE"])
@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5", "", " 10", "²"])
def test_seconds_that_are_not_whole_seconds_are_refused_naming_the_variable(
    name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read_environment({name: value})
    assert str(caught.value) == f"environment: {name}: expected whole seconds, got {value!r}"

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, load_settings, parse_settings

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

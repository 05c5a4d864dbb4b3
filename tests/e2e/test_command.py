"""`/ignorerate` with every option, bad input, permissions, and Japanese."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.e2e.conftest import NOW, Bot, running_bot
from tests.e2e.test_clicks import new_lead
from tests.e2e.test_thin_path import lead


def ask(bot: Bot, user: str, text: str, channel: str = "CELSEWHERE") -> dict[str, object]:
    before = len(bot.slack.responses)
    answer = bot.command(user, text, channel)
    assert answer.status_code == 200
    assert answer.text == ""  # acknowledged at once, answered through response_url
    return bot.slack.wait_for_response(before + 1)[-1]


def words(reply: dict[str, object]) -> str:
    return json.dumps(reply.get("blocks", []), ensure_ascii=False) + str(reply.get("text", ""))


@pytest.fixture
def data(bot: Bot) -> Bot:
    """Enterprise: one contacted on time, one ignored, one pending; smb: one ignored."""
    acted = new_lead(bot, "E-1")
    bot.interact(bot.click_payload("UA", "lead.contacted.call", value=str(acted)))
    bot.slack.wait_for("chat.update")
    old = (NOW - timedelta(hours=5)).isoformat()
    assert bot.handoff(lead("E-2", handed_off_at=old, source="expo")).status_code == 202
    assert bot.handoff(lead("E-3", handed_off_at=NOW.isoformat())).status_code == 202
    smb = {
        **lead(
            "S-1",
            owner="c@example.com",
            handed_off_at=(NOW - timedelta(days=1, hours=1)).isoformat(),
        ),
        "team": "smb",
    }
    assert bot.handoff(smb).status_code == 202
    return bot


def test_no_period_means_the_last_seven_days_for_the_callers_team(data: Bot) -> None:
    reply = ask(data, "UA", "")
    text = words(reply)
    assert "last-7-days" in text
    assert "Team: enterprise" in text
    assert "*ignore %*\\n50.0%" in text
    assert "3 passed · 0 excluded · 2 counted: 1 ignored, 1 actioned" in text
    assert "1 pending" in text
    assert reply["response_type"] == "ephemeral"


def test_the_channel_decides_the_team_before_the_caller(data: Bot) -> None:
    assert "Team: smb" in words(ask(data, "UADMIN", "this-week", channel="CSMB"))


def test_breakdowns_by_rep_and_by_source(data: Bot) -> None:
    by_rep = words(ask(data, "UBOSS", "this-week by:rep"))
    assert "By rep" in by_rep
    assert "*a@example.com*: ignore 50.0%" in by_rep
    by_source = words(ask(data, "UBOSS", "this-week by:source"))
    assert "*expo*: ignore 100.0%" in by_source
    assert "*webinar*: ignore 0.0%" in by_source


def test_public_posts_in_the_channel(data: Bot) -> None:
    assert ask(data, "UBOSS", "this-week public")["response_type"] == "in_channel"


def test_japanese_periods_work(data: Bot) -> None:
    text = words(ask(data, "UBOSS", "今週"))
    assert "今週" in text
    assert "3 passed" in text
    assert "last-month" in words(ask(data, "UBOSS", "ＬＡＳＴ-MONTH"))  # full width, any case


@pytest.mark.one_backend
def test_a_bad_period_lists_the_accepted_forms(data: Bot) -> None:
    text = words(ask(data, "UBOSS", "fortnight"))
    assert 'I can\'t read the period "fortnight"' in text
    assert "last-N-days" in text
    assert "先月" in text


@pytest.mark.one_backend
def test_a_period_outside_the_supported_days_is_refused_naming_them(data: Bot) -> None:
    for period in ("0001", "9999", "1969-12-31..1970-01-31"):
        text = words(ask(data, "UBOSS", period))
        assert f'I can\'t read the period "{period}" (outside the supported days' in text
        assert "A period lies between 1970-01-01 and 2099-12-31." in text
        assert "last-N-days" in text


@pytest.mark.one_backend
def test_bad_options_say_what_is_accepted(data: Bot) -> None:
    assert "`by:` takes `rep` or `source`" in words(ask(data, "UBOSS", "by:team"))
    assert "one period, not two" in words(ask(data, "UBOSS", "today yesterday"))
    assert "There is no team `nope`" in words(ask(data, "UBOSS", "team:nope"))


@pytest.mark.one_backend
def test_help_explains_usage(data: Bot) -> None:
    assert "Usage:" in words(ask(data, "UA", "help"))


def test_who_may_see_which_team(data: Bot) -> None:
    assert "not yours to see" in words(ask(data, "UA", "team:smb"))
    assert "not yours to see" in words(ask(data, "UBOSS", "team:smb"))
    assert "Team: enterprise" in words(ask(data, "UB", "team:enterprise"))
    assert "`team:all` is for admins" in words(ask(data, "UBOSS", "team:all"))
    everything = words(ask(data, "UADMIN", "this-week team:all"))
    assert "All teams" in everything
    assert "4 passed" in everything
    assert "Which team?" in words(ask(data, "USTRANGER", "this-week"))


@pytest.mark.one_backend
def test_replies_follow_the_configured_locale(database_url: str) -> None:
    with running_bot(database_url, locale="ja") as bot:
        text = words(ask(bot, "UBOSS", "先月"))
        assert "無視率" in text
        assert "集計対象のリードなし" in text
        assert "使い方" in words(ask(bot, "UBOSS", "ヘルプ"))
        refused = words(ask(bot, "UBOSS", "0001"))
        assert "期間「0001」を読み取れません" in refused
        assert "期間は 1970-01-01 から 2099-12-31 までの日で指定してください。" in refused


@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("text", "fields", "answer"),
    [
        ("last-7-days", {"channel_name": "payload-ops"}, "Team: enterprise"),
        ("last-7-days", {"user_name": "payload"}, "Team: enterprise"),
        ("last-7-days payload", {}, "Give one period, not two (`last-7-days` and `payload`)"),
        ("過去7日 payloads", {}, "Give one period, not two (`過去7日` and `payloads`)"),
    ],
)
def test_a_command_whose_form_says_payload_is_still_answered(
    data: Bot, text: str, fields: dict[str, str], answer: str
) -> None:
    """Bolt reads a form body containing the word "payload" anywhere as an interaction
    and, finding no payload field, as an empty request: the command went unanswered (404).
    The word may stand in the text, a channel's or a person's name."""
    before = len(data.slack.responses)
    assert data.command("UA", text, fields_too=fields).status_code == 200
    assert answer in words(data.slack.wait_for_response(before + 1)[-1])
    assert data.service.metrics.registry.get_sample_value("ignorerate_listener_errors_total") == 0


DASHBOARD_ENV = {
    "IGNORERATE_SESSION_SECRET": "s" * 40,
    "IGNORERATE_OIDC_CLIENT_ID": "client",
    "IGNORERATE_OIDC_CLIENT_SECRET": "secret",
    "IGNORERATE_OIDC_ISSUER": "http://127.0.0.1:9",
    "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
}


@pytest.mark.one_backend
def test_dashboard_answers_with_its_link_or_says_it_is_off(database_url: str) -> None:
    with running_bot(database_url) as off:
        reply = ask(off, "UBOSS", "dashboard")
        assert "not turned on" in words(reply)
        assert "IGNORERATE_OIDC_CLIENT_ID" in words(reply)
        assert reply["response_type"] == "ephemeral"
    with running_bot(database_url, env_extra=DASHBOARD_ENV, locale="ja") as on:
        reply = ask(on, "UBOSS", "ダッシュボード")
        assert reply["text"] == "ダッシュボード: http://127.0.0.1:3000/"
        assert reply["response_type"] == "ephemeral"
        # with anything else it is not the dashboard word but a period, and says so
        assert "dashboard" in words(ask(on, "UBOSS", "dashboard public"))
        assert "ダッシュボード: http" not in words(ask(on, "UBOSS", "dashboard public"))

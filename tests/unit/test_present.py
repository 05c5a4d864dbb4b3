"""The shared words (bot/present) read the same in every place that writes them, in
English and in Japanese."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.present import table
from bot.present.report import change_line, percent, report_team, report_title
from bot.present.status import ACK_PAGE, SLACK_CARD, TEAMS_CARD, StatusKeys, lead_status
from metrics.periods import Period
from metrics.rates import Counts
from metrics.report import Report
from metrics.summary import Change, Direction, Verdict

HANDED = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Facts:
    handed_off_at: datetime = HANDED
    due_at: datetime = HANDED + timedelta(hours=1)
    excluded_at: datetime | None = None
    exclusion_reason: str | None = None
    first_action_at: datetime | None = None
    first_action_kind: str | None = None
    first_action_channel: str | None = None
    first_reason: str | None = None


def status(
    facts: Facts,
    locale: str,
    keys: StatusKeys = SLACK_CARD,
    when: Callable[[datetime], str] | None = None,
) -> str | None:
    return lead_status(facts, locale, keys, actor="Aki", when=when)


LATE_CALL = Facts(
    first_action_at=HANDED + timedelta(hours=3, minutes=5),
    first_action_kind="contacted",
    first_action_channel="call",
)
EARLY_REJECTION = Facts(
    first_action_at=HANDED + timedelta(minutes=20),
    first_action_kind="rejected",
    first_reason="no_budget",
)
EXCLUDED = Facts(excluded_at=HANDED + timedelta(minutes=5))


def test_an_open_lead_has_no_status_line() -> None:
    assert status(Facts(), "en") is None
    assert status(Facts(), "ja", TEAMS_CARD) is None


def test_a_late_contact_says_who_how_after_what_and_how_late_in_slack() -> None:
    assert status(LATE_CALL, "en") == (
        ":white_check_mark: Contacted by Aki, Call, 3 h 5 min after handoff, 2 h 5 min past the SLA"
    )
    assert status(LATE_CALL, "ja") == (
        ":white_check_mark: Aki が電話で対応（受け渡しから 3時間5分、期限を 2時間5分 超過）"
    )


def test_a_contact_with_no_channel_is_other_and_within_the_sla_on_teams() -> None:
    early = replace(LATE_CALL, first_action_at=HANDED + timedelta(minutes=30))
    early = replace(early, first_action_channel=None)
    assert status(early, "en", TEAMS_CARD) == (
        "✅ Contacted by Aki, Other, 30 min after handoff, within SLA"
    )
    assert status(early, "ja", TEAMS_CARD) == "✅ Aki がその他で対応（受け渡しから 30分、期限内）"


def test_a_rejection_names_its_reason() -> None:
    assert status(EARLY_REJECTION, "en") == (
        ":no_entry_sign: Rejected by Aki (no budget), 20 min after handoff, within SLA"
    )
    assert status(EARLY_REJECTION, "ja", TEAMS_CARD) == (
        "🚫 Aki が却下（予算なし）（受け渡しから 20分、期限内）"
    )
    no_reason = replace(EARLY_REJECTION, first_reason=None)
    assert "(other)" in str(status(no_reason, "en"))


def test_an_exclusion_wins_over_a_first_touch_and_defaults_its_reason() -> None:
    both = replace(LATE_CALL, excluded_at=HANDED, exclusion_reason="duplicate")
    assert status(both, "en") == (":wastebasket: Excluded (duplicate): this lead is not counted")
    assert status(EXCLUDED, "ja", TEAMS_CARD) == "除外（除外）：このリードは集計しません"


def test_the_one_click_page_says_when_instead_of_how_long() -> None:
    def when(moment: datetime) -> str:
        return moment.strftime("%H:%M")

    assert status(LATE_CALL, "en", ACK_PAGE, when=when) == "Contacted by Aki (Call) at 04:05."
    assert status(LATE_CALL, "ja", ACK_PAGE, when=when) == "Aki が電話で対応済みです（04:05）。"
    assert status(EARLY_REJECTION, "en", ACK_PAGE, when=when) == (
        "Rejected by Aki (no budget) at 01:20."
    )
    assert status(EXCLUDED, "ja", ACK_PAGE, when=when) == (
        "除外済みです（除外、01:05）。このリードは集計しません。"
    )


def _report(team: str | None) -> Report:
    period = Period("last-month", date(2026, 10, 1), date(2026, 11, 1))
    return Report(period, ZoneInfo("Asia/Tokyo"), HANDED, team, Counts())


def test_a_report_title_names_the_period_its_last_day_and_time_zone() -> None:
    assert report_title(_report("t"), "en") == (
        "Ignore rate, last-month (2026-10-01 to 2026-10-31, Asia/Tokyo)"
    )
    assert report_title(_report("t"), "ja") == (
        "無視率 last-month（2026-10-01〜2026-10-31、Asia/Tokyo）"
    )


def test_a_report_names_its_team_or_all_teams() -> None:
    assert report_team("east", "en") == "Team: east"
    assert report_team("east", "ja") == "チーム: east"
    assert report_team(None, "en") == "All teams"
    assert report_team(None, "ja") == "全チーム"


def test_a_rate_is_a_percentage_with_one_decimal_or_a_dash() -> None:
    assert percent(12.345) == "12.3%"
    assert percent(None) == "—"


def test_the_change_line_compares_with_the_week_before() -> None:
    worse = Change(30.0, 25.0, 5.0, Direction.UP, Verdict.BAD)
    assert change_line(worse, "2026-W47", "en") == "↑ +5.0 pts vs 2026-W47 (25.0%), worse"
    assert change_line(worse, "2026-W47", "ja") == (
        "↑ 2026-W47比 +5.0ポイント（2026-W47：25.0%）、悪化"
    )
    same = Change(25.0, 25.0, 0.0, Direction.FLAT, Verdict.NEUTRAL)
    assert change_line(same, "2026-W47", "en") == "→ ±0.0 pts vs 2026-W47 (25.0%), no change"


def test_no_change_line_without_a_rate_to_compare() -> None:
    assert change_line(None, "2026-W47", "en") == (
        "2026-W47: no leads to count, nothing to compare with"
    )
    assert change_line(None, "2026-W47", "ja") == "2026-W47：集計対象のリードがなく比較できません"


def test_wide_characters_take_two_columns() -> None:
    assert table.width("abc") == 3
    assert table.width("担当者") == 6
    assert table.pad("担当", 6, right=False) == "担当  "
    assert table.pad("7", 3, right=True) == "  7"


def test_a_table_aligns_names_left_and_numbers_right_in_display_columns() -> None:
    top, lines = table.aligned(["rep", "counted"], [["a@example.com", "3"], ["b", "12"]])
    assert top == "rep            counted\n-------------  -------"
    assert lines == ["a@example.com        3", "b                   12"]
    top, lines = table.aligned(["担当者", "集計対象"], [["山田", "3"]])
    assert top == "担当者  集計対象\n------  --------"
    assert lines == ["山田           3"]

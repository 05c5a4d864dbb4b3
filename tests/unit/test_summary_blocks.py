"""The weekly summary in Slack: Block Kit limits for any team size, escaping, both
languages, "no leads to count" rather than a made-up rate, and arrows that mean the
right thing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.slack.summary_blocks import as_text, summary_blocks
from metrics.rates import Counts
from metrics.summary import Summary, TrendPoint, top_sources

AS_OF = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday 09:00 in Tokyo
LAST_WEEK = Counts(handed_off=10, ignored=3, on_time=7, median_first_action_seconds=1800)
WORSE = Counts(handed_off=12, excluded=1, pending=1, ignored=4, on_time=5, late=1, rejected=1)


def make(
    *,
    current: Counts = WORSE,
    previous: Counts = LAST_WEEK,
    reps: int = 3,
    rep_name: str = "rep{i}@example.com",
    team: str = "enterprise",
    sources: tuple[tuple[str, Counts], ...] = (),
) -> Summary:
    by_rep = tuple(
        (rep_name.format(i=i), Counts(handed_off=3, ignored=1, on_time=2)) for i in range(reps)
    )
    return Summary(
        team=team,
        week="2026-W47",
        timezone=ZoneInfo("Asia/Tokyo"),
        as_of=AS_OF,
        current=current,
        previous=previous,
        by_rep=(*by_rep, (None, Counts(handed_off=1, ignored=1))),
        top_sources=top_sources(sources),
        trend=tuple(TrendPoint(f"2026-W{w}", 30.0, 70.0) for w in range(40, 48)),
    )


def texts(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(where, text) of every piece of text in the message."""
    for block in blocks:
        if "text" in block:
            yield block["type"], block["text"]["text"]
        for field in block.get("fields", ()):
            yield "field", field["text"]
        for element in block.get("elements", ()):
            yield "context", element["text"]


def assert_within_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= 50
    for where, text in texts(blocks):
        limit = {"header": 150, "field": 2000}.get(where, 3000)
        assert len(text) <= limit, (where, len(text))
    for block in blocks:
        assert len(block.get("fields", ())) <= 10


def everything(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(text for _, text in texts(blocks))


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_a_forty_rep_team_fits_one_message_with_every_rep_listed(locale: str) -> None:
    summary = make(reps=40, rep_name="long-sales-rep-address-{i}@example.com")
    _, blocks = summary_blocks(summary, locale)
    assert_within_limits(blocks)
    shown = everything(blocks)
    for i in range(40):
        assert f"address-{i}@example.com" in shown
    assert "…and" not in shown
    assert "ほか" not in shown
    tables = [t for w, t in texts(blocks) if t.startswith("```")]
    assert tables
    assert all(t.endswith("```") for t in tables)


def test_a_huge_team_is_cut_with_and_n_more_and_still_fits() -> None:
    summary = make(reps=3000)
    _, blocks = summary_blocks(summary, "en")
    assert_within_limits(blocks)
    shown = everything(blocks)
    listed = len(set(re.findall(r"rep(\d+)@example\.com", shown)))
    more = re.search(r"…and (\d+) more", shown)
    assert more is not None
    assert listed + int(more[1]) == 3001  # 3000 reps and the unassigned row


def test_a_name_too_long_for_the_table_keeps_its_end() -> None:
    long_name = "someone-with-a-very-long-name-indeed-" * 3 + "7@example.com"
    _, blocks = summary_blocks(make(reps=1, rep_name=long_name), "en")
    assert "…" in everything(blocks)
    assert "indeed-7@example.com" in everything(blocks)


def test_slack_control_characters_in_names_are_escaped() -> None:
    summary = make(
        team="<!channel> & co",
        reps=2,
        rep_name="<!here>{i}&x@example.com",
        sources=(("<script>", Counts(handed_off=2, ignored=1, on_time=1)),),
    )
    text, blocks = summary_blocks(summary, "en")
    mrkdwn = "\n".join(t for where, t in texts(blocks) if where != "header")
    assert "<!here>" not in mrkdwn
    assert "<script>" not in mrkdwn
    assert "&lt;!here&gt;0&amp;x@example.com" in mrkdwn
    assert "&lt;script&gt;" in mrkdwn
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; co" in text


def test_japanese_names_and_the_japanese_message_render() -> None:
    summary = make(team="東日本営業部", reps=2, rep_name="山田{i}@例え.jp")
    text, blocks = summary_blocks(summary, "ja")
    assert_within_limits(blocks)
    shown = everything(blocks)
    assert "週次サマリー" in text
    assert "東日本営業部" in text
    assert "無視率" in shown
    assert "SAL率" in shown
    assert "担当者別" in shown
    assert "山田0@例え.jp" in shown
    english, _ = summary_blocks(summary, "en")
    assert english.startswith("Weekly summary: 東日本営業部, 2026-W47")


@pytest.mark.parametrize(
    ("locale", "words"), [("en", "no leads to count"), ("ja", "集計対象のリードなし")]
)
def test_a_week_with_nothing_counted_says_so_and_shows_no_percentage(
    locale: str, words: str
) -> None:
    fresh = Counts(handed_off=3, pending=3)
    summary = Summary(
        team="enterprise",
        week="2026-W47",
        timezone=ZoneInfo("Asia/Tokyo"),
        as_of=AS_OF,
        current=fresh,
        previous=Counts(),
        by_rep=(),
        top_sources=(),
        trend=(),
    )
    text, blocks = summary_blocks(summary, locale)
    assert words in text
    shown = everything(blocks)
    assert words in shown
    assert "%" not in shown.replace("ignore %", "").replace("SAL %", "")
    assert "3" in text  # the pending leads are beside it


def test_the_arrows_and_verdicts_follow_the_direction_that_is_good() -> None:
    _, blocks = summary_blocks(make(current=WORSE, previous=LAST_WEEK), "en")
    fields = [f["text"] for b in blocks for f in b.get("fields", ())]
    ignore, sal, breach, _median = fields
    # 30 % -> 40 % ignored: up, and bad
    assert "40.0%" in ignore
    assert "↑ +10.0 pts vs 2026-W46 (30.0%), worse" in ignore
    # 70 % -> 60 % SAL: down, and bad
    assert "60.0%" in sal
    assert "↓ -10.0 pts" in sal
    assert "worse" in sal
    # 30 % -> 50 % breached: up, and bad
    assert "50.0%" in breach
    assert "↑ +20.0 pts" in breach
    assert "worse" in breach
    _, better = summary_blocks(make(current=LAST_WEEK, previous=WORSE), "en")
    ignore, sal, breach, _ = [f["text"] for b in better for f in b.get("fields", ())]
    assert "↓ -10.0 pts" in ignore
    assert "better" in ignore
    assert "↑ +10.0 pts" in sal
    assert "better" in sal
    assert "↓ -20.0 pts" in breach
    assert "better" in breach
    _, same = summary_blocks(make(current=LAST_WEEK, previous=LAST_WEEK), "ja")
    assert "→" in everything(same)
    assert "横ばい" in everything(same)


def test_no_arrow_against_a_week_that_had_nothing_to_count() -> None:
    _, blocks = summary_blocks(make(current=WORSE, previous=Counts(handed_off=2, pending=2)), "en")
    ignore = next(f["text"] for b in blocks for f in b.get("fields", ()))
    assert not {"↑", "↓", "→"} & set(ignore)
    assert "2026-W46: no leads to count" in ignore


def test_pending_is_shown_even_when_there_is_none() -> None:
    _, blocks = summary_blocks(make(current=LAST_WEEK), "en")
    assert "0 pending" in everything(blocks)


def test_counts_and_worst_sources_are_listed() -> None:
    sources = (
        ("web", Counts(handed_off=10, ignored=1, on_time=9)),
        ("event", Counts(handed_off=4, ignored=2, on_time=2)),
        ("fresh", Counts(handed_off=3, pending=3)),
    )
    _, blocks = summary_blocks(make(sources=sources), "en")
    shown = everything(blocks)
    assert (
        "Handed off 12 · counted 10 · ignored 4 · actioned 6 · late 1 · excluded 1 · pending 1"
        in shown
    )
    assert "1. event: 50.0% (2 of 4 ignored)\n2. web: 10.0% (1 of 10 ignored)" in shown
    assert "fresh" not in shown


def test_the_dry_run_text_reads_without_slack_markup() -> None:
    text, blocks = summary_blocks(make(team="R&D"), "en")
    printed = as_text(text, blocks)
    assert printed.startswith("Weekly summary: R&D, 2026-W47")
    assert "<!date" not in printed
    assert "&amp;" not in printed
    assert "2026-11-23 09:00 JST" in printed

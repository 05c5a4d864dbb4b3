"""Slack messages stay inside Block Kit's limits and never let lead data ping anyone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.config import DEFAULT_REJECT_REASONS
from bot.present.command import CommandError, ReportRequest, parse_command
from bot.slack import blocks
from metrics.periods import Period
from metrics.rates import Counts
from metrics.report import Report
from metrics.views import LeadView, Person

TOKYO = ZoneInfo("Asia/Tokyo")
HANDED = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def view(**changes: object) -> LeadView:
    base: dict[str, object] = {
        "id": 7,
        "source": "webinar",
        "external_id": "L-7",
        "team": "enterprise",
        "handed_off_at": HANDED,
        "due_at": HANDED + timedelta(hours=1),
        "name": "Hanako",
        "company": "Example KK",
        "email": "h@example.com",
        "campaign": None,
        "owner": Person(1, "a@example.com", "UA", "Asia/Tokyo", "a"),
        "first_action_at": None,
        "first_action_kind": None,
        "first_action_channel": None,
        "first_actor": None,
        "first_reason": None,
        "excluded_at": None,
        "exclusion_reason": None,
        "snoozed_until": None,
    }
    base.update(changes)
    return LeadView(**base)  # type: ignore[arg-type]


def limits_hold(message_blocks: list[dict[str, object]], most: int) -> None:
    assert len(message_blocks) <= most
    for block in message_blocks:
        text = block.get("text")
        if isinstance(text, dict):
            assert len(text["text"]) <= blocks.MAX_SECTION_TEXT
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25  # type: ignore[arg-type]


def test_an_open_lead_has_every_button_and_the_deadline_in_slack_date_format() -> None:
    _, card = blocks.lead_card(view(), TOKYO, "en")
    ids = [e.get("action_id") for b in card if b["type"] == "actions" for e in b["elements"]]
    assert ids == [
        "lead.contacted.call",
        "lead.contacted.email",
        "lead.contacted.meeting",
        "lead.contacted.message",
        "lead.contacted.other",
        "lead.reject",
        "lead.snooze",
        "lead.reassign",
    ]
    due = int((HANDED + timedelta(hours=1)).timestamp())
    assert f"<!date^{due}^{{date_short_pretty}} {{time}}|2026-11-24 11:00 JST>" in json.dumps(card)


def test_a_contacted_lead_says_who_how_and_how_late() -> None:
    late = view(
        first_action_at=HANDED + timedelta(hours=3, minutes=5),
        first_action_kind="contacted",
        first_action_channel="email",
        first_actor=Person(2, "b@example.com", None, None, None),
    )
    assert blocks.lead_status(late, "en") == (
        ":white_check_mark: Contacted by b@example.com, Email, 3 h 5 min after handoff, "
        "2 h 5 min past the SLA"
    )
    assert "期限を 2時間5分 超過" in str(blocks.lead_status(late, "ja"))
    _, card = blocks.lead_card(late, TOKYO, "en")
    assert not [b for b in card if b["type"] == "actions"]


def test_lead_data_cannot_mention_anyone() -> None:
    _, card = blocks.lead_card(view(name="<!channel> & <@U1>", source="<!here>"), TOKYO, "en")
    text = json.dumps(card)
    assert "<!channel>" not in text
    assert "<!here>" not in text
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in text


def test_a_lead_no_one_in_slack_holds_can_be_taken() -> None:
    for owner in (None, Person(1, "gone@example.com", None, None, None)):
        _, card = blocks.lead_card(view(owner=owner), TOKYO, "en")
        assert "lead.take" in json.dumps(card)


def test_the_reject_modal_offers_every_reason_and_marks_the_excluding_ones() -> None:
    modal = blocks.reject_modal(view(), DEFAULT_REJECT_REASONS, "en", "{}")
    options = modal["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == [r.code for r in DEFAULT_REJECT_REASONS]
    assert options[5]["text"]["text"] == "duplicate (not counted)"
    assert len(modal["title"]["text"]) <= 24


def report(by_rep: int, by_source: int) -> Report:
    c = Counts(handed_off=10, ignored=3, on_time=5, late=2, pending=1)
    return Report(
        Period("last-month", date(2026, 10, 1), date(2026, 11, 1)),
        TOKYO,
        HANDED,
        "enterprise",
        c,
        tuple((f"rep{i:04d}@example.com", c) for i in range(by_rep)),
        tuple((f"source-{i:04d}-" + "x" * 60, c) for i in range(by_source)),
    )


def test_a_huge_breakdown_stays_within_block_kit_limits_and_says_how_many_more() -> None:
    for by in ("rep", "source"):
        _, message = blocks.report_blocks(report(3000, 3000), by, "en")
        limits_hold(message, blocks.MAX_MESSAGE_BLOCKS)
        assert "more" in json.dumps(message[-1])
    _, small = blocks.report_blocks(report(3, 3), "rep", "en")
    assert "more" not in json.dumps(small)
    assert json.dumps(small).count("@example.com") == 3


def test_the_home_tab_stays_within_one_hundred_blocks() -> None:
    leads = [view(id=i, external_id=f"L-{i}") for i in range(60)]
    home = blocks.home_view(leads, 500, TOKYO, "en", [(report(5, 5), [("a@example.com", 3)] * 40)])
    limits_hold(home["blocks"], blocks.MAX_VIEW_BLOCKS)
    assert "more" in json.dumps(home["blocks"][-1])


def test_command_options_in_any_order() -> None:
    assert parse_command("public by:source 先月 team:smb", "en") == ReportRequest(
        "先月", "smb", "source", public=True
    )
    assert parse_command("", "en") == ReportRequest()
    assert parse_command("ｂｙ：ｒｅｐ　2026-Q3", "en") == ReportRequest("2026-Q3", by="rep")
    assert parse_command("help", "en").help


@given(st.text(max_size=80))
def test_any_command_text_is_read_or_refused_with_a_message(text: str) -> None:
    try:
        request = parse_command(text, "en")
    except CommandError as err:
        message = str(err)
        assert message
        return
    assert request.period
    assert request.by in (None, "rep", "source")


def test_a_digest_of_200_overdue_leads_stays_in_one_message_and_says_how_many_more() -> None:
    now = HANDED + timedelta(hours=5)
    leads = [
        view(id=i, name=f"<!channel> lead {i} " + "長" * 200, external_id=f"L-{i}")
        for i in range(200)
    ]
    for locale in ("en", "ja"):
        for audience in ("rep", "manager", "channel"):
            text, message = blocks.digest(
                audience, leads, 200, teams=["enterprise"], tz=TOKYO, locale=locale, now=now
            )
            limits_hold(message, blocks.MAX_MESSAGE_BLOCKS)
            shown = [b for b in message if b["type"] == "actions"]
            assert 20 <= len(shown) < 200
            assert all(len(b["elements"]) <= 25 for b in shown)
            more = json.dumps(message[-2], ensure_ascii=False)
            assert str(200 - len(shown)) in more
            assert "200" in text
            assert "<!channel>" not in json.dumps(message)


def test_a_digest_line_says_how_late_or_how_long_is_left() -> None:
    lead = view()
    late = blocks.digest_line(lead, TOKYO, "en", HANDED + timedelta(hours=3), owner=True)
    assert "2 h past the deadline" in late
    assert "held by <@UA>" in late
    soon = blocks.digest_line(lead, TOKYO, "ja", HANDED + timedelta(minutes=45), owner=False)
    assert "期限まで" in soon
    assert "担当" not in soon


def test_a_resolved_digest_line_loses_its_buttons_and_keeps_the_others() -> None:
    leads = [view(id=1), view(id=2)]
    _, message = blocks.digest("rep", leads, 2, teams=["t"], tz=TOKYO, locale="en", now=HANDED)
    amended = blocks.digest_resolved(message, 1, "done")
    assert [b.get("block_id") for b in amended if b["type"] == "actions"] == ["digest:2"]
    assert {"type": "context", "elements": [blocks.mrkdwn("done")]} in amended
    assert len(amended) == len(message)

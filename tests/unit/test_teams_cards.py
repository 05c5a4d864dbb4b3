"""Every card the bot sends to Teams is a valid Adaptive Card 1.4 (against Microsoft's own
schema, vendored in tests/fixtures/schemas), has no button a webhook card cannot carry, and
fits in a Workflows message (28 KB) however large the team or hostile the names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from bot.teams.cards import (
    MAX_CARD_BYTES,
    card_bytes,
    digest_card,
    envelope,
    lead_card,
    report_card,
    summary_card,
)
from metrics.periods import Period
from metrics.rates import Counts
from metrics.report import Report
from metrics.summary import IsoWeek, Summary, trend_point, trend_weeks
from metrics.views import LeadView, Person

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "fixtures" / "schemas" / "adaptive-card-1.4.schema.json"
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
LOCALES = ("en", "ja")
# what people put in names: Japanese, emoji, markup, Markdown links, very long text
NAMES = (
    "山田 太郎",
    "🚀 Rocket Corp 🎉",
    "<script>alert('x')</script>",
    "[Win a prize](https://evil.example)",
    "**bold** _it_ `code` # heading",
    "x" * 5000,
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def check(card: dict[str, Any], validator: jsonschema.protocols.Validator) -> None:
    validator.validate(card)
    assert card["version"] == "1.4"
    assert card["type"] == "AdaptiveCard"
    kinds = {node.get("type") for node in walk(card)}
    assert not kinds & {"Action.Submit", "Action.Execute"}
    assert card_bytes(card) <= MAX_CARD_BYTES
    sent = envelope(card)
    assert sent["type"] == "message"
    assert sent["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    encoded = json.dumps(sent, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(encoded) <= MAX_CARD_BYTES


def texts(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def person(i: int, name: str | None = None) -> Person:
    return Person(i, f"rep{i}@example.com", None, "Asia/Tokyo", name)


def lead(i: int, name: str = "Ada Lovelace", **changes: Any) -> LeadView:
    base: dict[str, Any] = {
        "id": i,
        "source": "web",
        "external_id": f"L{i}",
        "team": "営業 Sales",
        "handed_off_at": NOW - timedelta(hours=3),
        "due_at": NOW - timedelta(hours=1),
        "name": name,
        "company": name,
        "email": "ada@example.com",
        "campaign": name,
        "owner": person(1, name),
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
    return LeadView(**base)


def counts(i: int) -> Counts:
    return Counts(
        handed_off=20 + i,
        excluded=1,
        pending=2,
        ignored=i % 5,
        on_time=10,
        late=3,
        rejected=i % 4,
        median_first_action_seconds=600.0 + i,
    )


def summary(reps: int, name: str) -> Summary:
    week = IsoWeek(2026, 47)
    return Summary(
        team=f"{name} team",
        week=str(week),
        timezone=TOKYO,
        as_of=NOW,
        current=counts(3),
        previous=counts(7),
        by_rep=(*((f"{name}-{i}@example.com", counts(i)) for i in range(reps)), (None, counts(1))),
        top_sources=(("web", counts(2)), (name, counts(3)), ("ads", counts(4))),
        trend=tuple(trend_point(w, counts(n)) for n, w in enumerate(trend_weeks(week))),
    )


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", NAMES)
def test_lead_cards_are_valid_in_every_state_with_any_name(
    validator: jsonschema.protocols.Validator, locale: str, name: str
) -> None:
    url = "https://bot.example.com/ack/abc.def"
    states = [
        lead(1, name),
        lead(2, name, owner=None),
        lead(3, name, snoozed_until=NOW + timedelta(hours=2)),
        lead(
            4,
            name,
            first_action_at=NOW - timedelta(minutes=30),
            first_action_kind="contacted",
            first_action_channel="call",
            first_actor=person(2, name),
        ),
        lead(5, name, first_action_at=NOW, first_action_kind="rejected", first_reason="no_budget"),
        lead(6, name, excluded_at=NOW, exclusion_reason="duplicate"),
    ]
    for view in states:
        check(lead_card(view, {"ack": url}, TOKYO, locale, NOW), validator)


def test_an_open_lead_offers_its_one_click_page_and_a_closed_one_says_what_happened() -> None:
    url = "https://bot.example.com/ack/abc.def"
    card = lead_card(lead(1), {"ack": url}, TOKYO, "en", NOW)
    buttons = [n for n in walk(card) if str(n.get("type", "")).startswith("Action.")]
    assert [b["type"] for b in buttons] == ["Action.OpenUrl", "Action.OpenUrl"]
    assert {b["url"] for b in buttons} == {url}
    facts = {
        f["title"]: f["value"] for n in walk(card) if n.get("type") == "FactSet" for f in n["facts"]
    }
    # the deadline in the team's zone: 02:00 UTC is 11:00 in Tokyo
    assert facts["SLA deadline"] == "2026-11-24 11:00 JST"
    done = lead(
        1,
        first_action_at=NOW - timedelta(minutes=30),
        first_action_kind="contacted",
        first_action_channel="email",
        first_actor=person(2, "Grace"),
    )
    closed = lead_card(done, {"ack": url}, TOKYO, "en", NOW)
    assert "actions" not in closed
    assert "Contacted by Grace, Email" in texts(closed)


def test_a_name_written_as_markdown_is_shown_as_text_not_as_a_link() -> None:
    card = lead_card(
        lead(1, "[Win](https://evil.example)"), {"ack": "https://b/ack/t"}, TOKYO, "en", NOW
    )
    assert "[Win](https://evil.example)" not in texts(card)
    assert r"\\[Win\\]\\(https://evil.example\\)" in texts(card)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("audience", ["reminder", "escalation", "both"])
@pytest.mark.parametrize("name", NAMES)
def test_a_digest_of_200_leads_fits_and_counts_what_it_leaves_out(
    validator: jsonschema.protocols.Validator, locale: str, audience: str, name: str
) -> None:
    leads = [lead(i, f"{name} {i}", due_at=NOW + timedelta(minutes=i - 100)) for i in range(200)]
    links = {v.id: f"https://bot.example.com/ack/token-{v.id}" for v in leads}
    card = digest_card(
        leads, 200, audience, "営業 Sales", links, TOKYO, locale, NOW, escalated=range(0, 200, 2)
    )
    check(card, validator)
    shown = [n for n in walk(card) if n.get("type") == "Action.OpenUrl"]
    assert 0 < len(shown) < 200
    more = {"en": f"…and {200 - len(shown)} more.", "ja": f"…ほか {200 - len(shown)} 件。"}
    assert more[locale] in texts(card)


def test_a_digest_says_who_holds_each_lead_and_which_are_escalations() -> None:
    leads = [lead(1, owner=person(1, "Hanako")), lead(2, owner=None)]
    card = digest_card(
        leads,
        2,
        "both",
        "sales",
        {1: "https://b/ack/1", 2: "https://b/ack/2"},
        TOKYO,
        "en",
        NOW,
        escalated={2},
    )
    body = texts(card)
    assert "Reminders and escalations: 2 leads in sales" in body
    assert "Reminder · " in body
    assert "Escalated · " in body
    assert "held by Hanako" in body
    assert "held by unassigned" in body


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", NAMES)
def test_the_summary_of_a_40_rep_team_is_valid_and_fits(
    validator: jsonschema.protocols.Validator, locale: str, name: str
) -> None:
    card = summary_card(summary(40, name), "https://bot.example.com/charts/tok.png", locale)
    check(card, validator)
    images = [n for n in walk(card) if n.get("type") == "Image"]
    assert [i["url"] for i in images] == ["https://bot.example.com/charts/tok.png"]


def test_the_summary_shows_every_rep_and_the_change_on_the_week_before() -> None:
    card = summary_card(summary(40, "rep"), "https://b/c.png", "en")
    body = texts(card)
    assert all(f"rep-{i}@example.com" in body for i in range(40))
    assert "(unassigned)" in body
    assert "vs 2026-W46" in body
    assert "pending" in body


def test_a_summary_too_big_for_one_message_is_cut_with_a_count_of_the_rest(
    validator: jsonschema.protocols.Validator,
) -> None:
    card = summary_card(summary(400, "very-long-name-" * 3), "https://b/c.png", "en")
    check(card, validator)
    assert "…and " in texts(card)


def report(by_rep: int, name: str) -> Report:
    return Report(
        period=Period("2026-W47", date(2026, 11, 16), date(2026, 11, 23)),
        timezone=TOKYO,
        as_of=NOW,
        team=name,
        totals=counts(3),
        by_rep=(*((f"{name}{i}@example.com", counts(i)) for i in range(by_rep)), (None, counts(0))),
        by_source=tuple((f"{name} src {i}", counts(i)) for i in range(by_rep)),
    )


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("by", [None, "rep", "source"])
@pytest.mark.parametrize("name", NAMES)
def test_report_cards_are_valid_and_fit(
    validator: jsonschema.protocols.Validator, locale: str, by: str | None, name: str
) -> None:
    check(report_card(report(60, name), by, locale), validator)


def test_the_schema_check_would_catch_a_broken_card(
    validator: jsonschema.protocols.Validator,
) -> None:
    card = lead_card(lead(1), {"ack": "https://b/ack/t"}, TOKYO, "en", NOW)
    card["body"][2]["facts"][0]["value"] = 42  # a fact's value must be text
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(card)

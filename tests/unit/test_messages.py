"""The outbox's typed messages: every message reads back from its row as it was queued,
rows queued by earlier versions still read, and a row no version wrote is refused with a
reason rather than sent half-read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app.messages import (
    Chart,
    Digest,
    Kind,
    LeadCard,
    Message,
    Post,
    RenderedCard,
    SummaryPost,
    TeamsDigest,
    UnreadableMessageError,
    WriteBack,
    decode,
    encode,
    kind_of,
)
from metrics.rates import Counts
from metrics.summary import Summary, TrendPoint

text = st.text(max_size=20)
ids = st.integers(min_value=1, max_value=2**63 - 1)
rates = st.none() | st.floats(min_value=0, max_value=100, allow_nan=False)
counts = st.builds(
    Counts,
    *[st.integers(min_value=0, max_value=10**9)] * 7,
    median_first_action_seconds=st.none() | st.floats(min_value=0, max_value=1e9),
)
trend = st.lists(st.builds(TrendPoint, text, rates, rates), max_size=8).map(tuple)
summaries = st.builds(
    Summary,
    team=text,
    week=text,
    timezone=st.sampled_from([ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/Berlin"), ZoneInfo("UTC")]),
    as_of=st.datetimes(  # hypothesis takes naive bounds and adds the zone
        min_value=datetime(1970, 1, 2),  # noqa: DTZ001
        max_value=datetime(2099, 12, 30),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    current=counts,
    previous=counts,
    by_rep=st.lists(st.tuples(st.none() | text, counts), max_size=4).map(tuple),
    top_sources=st.lists(st.tuples(text, counts), max_size=3).map(tuple),
    trend=trend,
)
blocks = st.lists(st.dictionaries(text, text | st.integers(), max_size=3), max_size=3).map(tuple)
messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(LeadCard, ids, st.none() | st.sampled_from(["owner", "channel"])),
    st.builds(
        Digest,
        st.sampled_from(["rep", "manager", "channel"]),
        text,
        st.lists(text, max_size=3).map(tuple),
        st.lists(ids, max_size=5).map(tuple),
    ),
    st.builds(
        TeamsDigest,
        text,
        st.lists(ids, max_size=5).map(tuple),
        st.lists(ids, max_size=5).map(tuple),
    ),
    st.builds(SummaryPost, summaries),
    st.builds(Chart, text, text, text, trend, st.none() | text),
    st.builds(Post, text, text, st.none() | blocks, st.none() | text),
    st.builds(RenderedCard, text, text, st.dictionaries(text, text, max_size=3)),
    st.builds(WriteBack, ids),
)


@given(messages)
def test_every_message_reads_back_from_its_row_as_it_was_queued(message: Message) -> None:
    row = encode(message)
    assert json.loads(row)["kind"] == kind_of(message).value
    assert decode(row) == message


def test_rows_queued_by_the_version_before_typed_messages_still_read() -> None:
    """Shapes copied from what that version wrote: a Slack card and digest, a Teams digest,
    a Teams summary card rendered when queued, a chart and a reply."""
    assert decode('{"kind": "lead_card", "lead_id": 7, "to": "owner"}') == LeadCard(7, "owner")
    assert decode('{"kind": "lead_card", "lead_id": 7}') == LeadCard(7)
    slack = '{"kind": "digest", "audience": "rep", "to": "a@x.jp", "teams": ["t"], "lead_ids": [1]}'
    assert decode(slack) == Digest("rep", "a@x.jp", ("t",), (1,))
    teams = '{"kind": "digest", "team": "t", "reminders": [1, 2], "escalations": []}'
    assert decode(teams) == TeamsDigest("t", (1, 2), ())
    card = {"type": "AdaptiveCard", "body": [{"type": "Image", "url": "chart:placeholder"}]}
    old = json.dumps({"kind": "summary", "team": "t", "week": "2026-W47", "card": card})
    assert decode(old) == RenderedCard("t", "2026-W47", card)
    reply = '{"kind": "post", "channel": "C1", "thread_ts": "1.2", "text": "unreadable"}'
    assert decode(reply) == Post("C1", "unreadable", None, "1.2")


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ("not json", "unreadable outbox message"),
        ("[1, 2]", "unreadable outbox message"),
        ('{"kind": "fax", "to": "x"}', "unreadable outbox message"),
        ('{"lead_id": 1}', "unreadable outbox message"),
        ('{"kind": "lead_card"}', "unreadable lead_card message"),
        ('{"kind": "lead_card", "lead_id": "seven"}', "unreadable lead_card message"),
        ('{"kind": "summary", "summary": {"team": "t"}}', "unreadable summary message"),
        ('{"kind": "chart", "channel": "C1"}', "unreadable chart message"),
    ],
)
def test_a_row_no_version_wrote_is_refused_with_a_reason(row: str, said: str) -> None:
    with pytest.raises(UnreadableMessageError, match=said):
        decode(row)


def test_each_kind_is_spelled_once() -> None:
    assert {k.value for k in Kind} == {
        "lead_card",
        "digest",
        "summary",
        "chart",
        "post",
        "write_back",
    }

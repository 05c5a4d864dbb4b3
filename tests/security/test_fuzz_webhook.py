"""Whatever is posted to the handoff webhook, correctly signed, the answer is 202, 400 or
413 with a JSON body that says what was wrong: never a 500, and the server keeps serving."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app.fields import LEAD_COLUMNS
from tests.e2e.conftest import Bot
from tests.e2e.test_thin_path import lead
from tests.security.conftest import census

FIELDS = (*LEAD_COLUMNS, "owner_slack_id")
NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\ud800",
            "x\udfff",
            "\ufeff",
            "2026-11-24T10:00:00+09:00",
            "enterprise",
            "a@example.com",
            "x" * 400,
        ]
    ),
)
JSONISH: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        NASTY_TEXT,
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NASTY_TEXT, inner, max_size=4),
    max_leaves=12,
)
LEADISH = st.builds(
    lambda base, changes, drop: {
        **{k: v for k, v in base.items() if k not in drop},
        **changes,
    },
    st.builds(lambda i: lead(f"FZ-{i}"), st.integers(0, 50)),
    st.dictionaries(st.sampled_from(FIELDS) | NASTY_TEXT, JSONISH, max_size=3),
    st.sets(st.sampled_from(FIELDS), max_size=2),
)
BODIES = st.one_of(
    JSONISH,
    LEADISH,
    st.lists(LEADISH, max_size=3).map(lambda leads: {"leads": leads}),
)


def check(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (202, 400, 413), (answer.status_code, answer.text[:500])
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert "Traceback" not in answer.text
    if answer.status_code == 400:
        if body.get("refused"):
            for refused in body["refused"]:
                assert refused["errors"], refused
                assert all(e["message"] for e in refused["errors"]), refused
        else:
            assert body["error"]
    return body


@settings(max_examples=60)
@given(BODIES)
def test_any_json_value_is_answered_202_or_400_naming_the_bad_fields(bot: Bot, data: Any) -> None:
    raw = json.dumps(data, ensure_ascii=True).encode()
    check(bot.handoff(None, raw=raw))


@pytest.mark.one_backend
@settings(max_examples=40)
@given(st.binary(max_size=200))
def test_any_bytes_are_answered_400_with_a_json_error(bot: Bot, raw: bytes) -> None:
    body = check(bot.handoff(None, raw=raw))
    assert body.get("error") or body.get("accepted") is not None


def test_text_with_a_nul_or_a_lone_surrogate_is_refused_by_field_and_not_stored(bot: Bot) -> None:
    before = census(bot.engine)
    for bad in ("a\x00b", "x\ud800"):
        for field in ("name", "external_id", "company", "source"):
            raw = json.dumps({**lead("NUL-1"), field: bad}).encode()
            answer = bot.handoff(None, raw=raw)
            assert answer.status_code == 400, answer.text
            (refused,) = answer.json()["refused"]
            assert [e["field"] for e in refused["errors"]] == [field]
    assert census(bot.engine) == before


@pytest.mark.one_backend
def test_a_number_with_thousands_of_digits_is_answered_400(bot: Bot) -> None:
    raw = b'{"source": "form", "external_id": ' + b"9" * 5000 + b"}"
    body = check(bot.handoff(None, raw=raw))
    assert "JSON" in body["error"] or body.get("refused")


@pytest.mark.one_backend
def test_a_body_just_over_one_megabyte_is_413_and_the_next_request_is_served(bot: Bot) -> None:
    raw = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    assert len(raw) == 1024 * 1024 + 12
    answer = bot.handoff(None, raw=raw)
    assert answer.status_code == 413
    assert "1048576 bytes" in answer.json()["error"]
    # and sent in chunks, without a Content-Length to refuse it by
    chunked = bot.http.post(
        f"{bot.url}/hooks/handoff",
        content=iter([raw[i : i + 65536] for i in range(0, len(raw), 65536)]),
        headers={"Content-Type": "application/json"},
    )
    assert chunked.status_code == 413
    assert bot.handoff(lead("AFTER-BIG")).status_code == 202


@pytest.mark.one_backend
def test_json_nested_a_hundred_thousand_deep_is_400_and_the_next_request_is_served(
    bot: Bot,
) -> None:
    for raw in (b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000):
        answer = bot.handoff(None, raw=raw)
        assert answer.status_code == 400, answer.text[:300]
        assert "JSON" in answer.json()["error"]
    assert bot.handoff(lead("AFTER-DEEP")).status_code == 202


@pytest.mark.one_backend
def test_a_slack_body_over_one_megabyte_is_413_unread_and_slack_is_still_served(
    bot: Bot,
) -> None:
    raw = b"payload=" + b"x" * (1024 * 1024)
    streamed = bot.http.post(
        f"{bot.url}/slack/events",
        content=iter([raw[i : i + 65536] for i in range(0, len(raw), 65536)]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
    declared = bot.http.post(
        f"{bot.url}/slack/events",
        content=raw,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert declared.status_code == 413
    assert bot.command("UA", "help").status_code == 200

"""Signed links: what was signed comes back; anything changed, reused or late does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.links import ExpiredLinkError, LinkSigner, TamperedLinkError, ack_token, ack_url

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
SIGNER = LinkSigner("a-link-secret-for-tests")


def test_a_link_names_the_lead_and_rep_by_id_only_and_expires_after_72_hours() -> None:
    url = ack_url("https://bot.example.com/", SIGNER, 42, 7, NOW)
    assert url.startswith("https://bot.example.com/ack/")
    token = url.rsplit("/", 1)[1]
    assert SIGNER.verify("ack", token, NOW + timedelta(hours=71))["l"] == 42
    with pytest.raises(ExpiredLinkError) as late:
        SIGNER.verify("ack", token, NOW + timedelta(hours=72))
    assert late.value.data["l"] == 42  # what it named, to offer a way on


def test_a_token_for_another_purpose_or_from_another_secret_is_refused() -> None:
    token = ack_token(SIGNER, 1, 2, NOW)
    with pytest.raises(TamperedLinkError):
        SIGNER.verify("chart", token, NOW)
    with pytest.raises(TamperedLinkError):
        LinkSigner("another-secret-of-16+").verify("ack", token, NOW)


@given(st.integers(min_value=0, max_value=200), st.characters(codec="ascii"))
def test_any_changed_character_makes_the_token_tampered(position: int, char: str) -> None:
    token = ack_token(SIGNER, 12345, 678, NOW)
    i = position % len(token)
    changed = token[:i] + char + token[i + 1 :]
    if changed == token:
        return
    with pytest.raises(TamperedLinkError):
        SIGNER.verify("ack", changed, NOW)


def test_a_short_secret_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        LinkSigner("short")

"""A database URL as shown to a person (`ignorerate init`, `db upgrade`): never its
password."""

from __future__ import annotations

from storage.engine import redact_url


def test_the_password_is_hidden_and_the_rest_kept() -> None:
    shown = redact_url("postgresql+psycopg://app:hunter2@db.internal:5432/ignorerate")
    assert shown == "postgresql+psycopg://app:***@db.internal:5432/ignorerate"


def test_a_url_without_a_password_is_shown_as_it_is() -> None:
    assert redact_url("sqlite:///ignorerate.db") == "sqlite:///ignorerate.db"
    assert redact_url("postgresql://app@db/x") == "postgresql://app@db/x"

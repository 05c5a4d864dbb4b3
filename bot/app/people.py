"""Who is who, as the database remembers it: the person (rep) a Slack user id or an email
names, and the Slack identity learnt for an email. Each function is one transaction;
asking Slack itself is the adapter's part (`bot.slack.people.Directory`)."""

from __future__ import annotations

from datetime import datetime

from metrics.views import Person
from storage import leads as store
from storage.engine import Engine, writing


def by_slack_id(engine: Engine, user_id: str) -> Person | None:
    """The person already tied to this Slack user id, if any."""
    with engine.connect() as conn:
        return store.person_by_slack_id(conn, user_id)


def by_email(engine: Engine, email: str) -> Person | None:
    """The person with this email (any case), if the database knows them."""
    with engine.connect() as conn:
        return store.person_by_email(conn, email)


def remember_slack_user(
    engine: Engine,
    email: str,
    *,
    user_id: str,
    timezone: str | None,
    display_name: str | None,
    now: datetime,
) -> Person | None:
    """Ties a Slack user to the person with this email (creating them if new) and returns
    the person as stored, in one transaction, so the next lookup needs no Slack call."""
    with writing(engine) as conn:
        store.remember_slack_user(
            conn,
            email,
            user_id=user_id,
            timezone=timezone,
            display_name=display_name,
            now=now,
        )
        return store.person_by_email(conn, email)

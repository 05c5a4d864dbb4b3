"""Who is who: Slack user ids and emails, cached in the reps table so that Slack is
asked once per person, not once per card or click."""

from __future__ import annotations

from bot.app import people
from bot.app.db import Engine
from bot.clock import Clock
from bot.slack.messenger import SlackMessenger
from metrics.views import Person


class Directory:
    def __init__(self, engine: Engine, messenger: SlackMessenger, clock: Clock) -> None:
        self.engine = engine
        self.messenger = messenger
        self.clock = clock

    def by_slack_id(self, user_id: str) -> Person | None:
        """The person behind a Slack user id, by their email (users:read.email)."""
        known = people.by_slack_id(self.engine, user_id)
        if known is not None:
            return known
        user = self.messenger.user_by_id(user_id)
        if user is None or user.email is None:
            return None
        return self._remember(user.email, user.id, user.timezone, user.name)

    def by_email(self, email: str) -> Person | None:
        """The person with this email, with their Slack id if Slack knows them."""
        known = people.by_email(self.engine, email)
        if known is not None and known.slack_user_id is not None:
            return known
        user = self.messenger.user_by_email(email)
        if user is None:
            return known
        return self._remember(email, user.id, user.timezone, user.name)

    def _remember(
        self, email: str, user_id: str, timezone: str | None, name: str | None
    ) -> Person | None:
        return people.remember_slack_user(
            self.engine,
            email,
            user_id=user_id,
            timezone=timezone,
            display_name=name,
            now=self.clock.now(),
        )

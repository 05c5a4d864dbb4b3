"""What the use cases and the doors need from the outside world, as Protocols: an
adapter implements one, the composition root hands it over, and no adapter has to
import another to get it."""

from __future__ import annotations

from typing import Protocol

from metrics.views import Person


class PeopleLookup(Protocol):
    """Who is behind a Slack user id (`bot.slack.people.Directory` is one)."""

    def by_slack_id(self, user_id: str) -> Person | None: ...

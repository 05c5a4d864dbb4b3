"""The organisation's teams as the database knows them: their row ids, and the error every
use case gives for a team the config does not name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.config import Settings
from storage import repository as repo
from storage.engine import Connection


class UnknownTeamError(LookupError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        super().__init__(f'unknown team "{name}"; configured teams: {", ".join(known) or "none"}')


def team_ids(conn: Connection, settings: Settings, now: datetime) -> dict[str, int]:
    return repo.sync_teams(conn, {t.name: t.timezone.key for t in settings.teams}, now)

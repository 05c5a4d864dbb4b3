"""The summary a Teams card's trend chart is drawn from, for a team named by its row id
(as a signed chart link names it), read as of now."""

from __future__ import annotations

from datetime import datetime

from bot.app.summaries import build_summary
from bot.config import Settings
from metrics.summary import Summary
from storage import reports
from storage.engine import Engine


def chart_summary(
    engine: Engine, settings: Settings, team_id: int, week: str, as_of: datetime
) -> Summary | None:
    """The summary of ISO `week` for the team with row id `team_id`, as of `as_of`, read
    in one connection; None if no team has that id or the config no longer names it.
    Raises `metrics.summary.WeekError` for a week that cannot be read."""
    with engine.connect() as conn:
        name = reports.team_name(conn, team_id)
        if name is None or settings.team(name) is None:
            return None
        return build_summary(conn, settings, name, week, as_of)

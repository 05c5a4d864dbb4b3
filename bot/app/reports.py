"""The rate is asked for (`/ignorerate`, the CLI, a Teams @mention): the counts of a period's
leads as of a moment, by the counting rules."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.app.teams import UnknownTeamError
from bot.config import Settings
from metrics.periods import Period, parse_period
from metrics.report import Report
from storage import reports
from storage.engine import Engine


def report(
    engine: Engine,
    settings: Settings,
    period_text: str,
    as_of: datetime,
    team_name: str | None = None,
    *,
    breakdowns: bool = True,
) -> Report:
    """The counts of the leads handed off in the period, as of `as_of`.
    The period is read in the team's time zone, or the organisation's across teams.
    Without `breakdowns`, only the totals (per rep and per source left empty): what an
    answer that shows no breakdown needs, at the cost of one aggregate."""
    team = None
    if team_name is not None and team_name.lower() != "all":
        team = settings.team(team_name)
        if team is None:
            raise UnknownTeamError(team_name, [t.name for t in settings.teams])
    tz: ZoneInfo = team.timezone if team else settings.timezone
    period: Period = parse_period(period_text, as_of.astimezone(tz).date())
    start, end = period.bounds(tz)
    with engine.connect() as conn:
        team_id = reports.team_id(conn, team.name) if team else None
        if team is not None and team_id is None:
            team_id = -1  # configured but never used: no leads, and no write on a read path
        cohort = reports.Cohort(start, end, as_of, team_id)
        if not breakdowns:
            return Report(
                period, tz, as_of, team.name if team else None, reports.total(conn, cohort)
            )
        counts = reports.breakdown(conn, cohort)
        per_rep, per_source = reports.named(conn, counts)
        return Report(
            period=period,
            timezone=tz,
            as_of=as_of,
            team=team.name if team else None,
            totals=counts.totals,
            by_rep=tuple(per_rep),
            by_source=tuple(per_source),
        )

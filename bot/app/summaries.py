"""Use cases of the weekly summary: decide which team's summary is due, make it once, and
queue it (the message and the trend chart) in the outbox of the same transaction.

"Once" lives in the database: a summary is made by the transaction whose insert of the
(team, ISO week) row wins. Another process, a later tick or the CLI finds the row there
and queues nothing. Only `resend_summary` queues a summary again, on purpose, under keys
of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.app.messages import Chart, Outgoing, SummaryPost, enqueue_many, platforms_of
from bot.app.teams import UnknownTeamError, team_ids
from bot.config import Settings, TeamConfig
from bot.present.i18n import t
from metrics.rates import Counts
from metrics.routing import MessageKind, Platform
from metrics.summary import (
    IsoWeek,
    Summary,
    due_summary,
    parse_week,
    top_sources,
    trend_point,
    trend_weeks,
)
from storage import outbox as outbox_store
from storage import reports, summaries
from storage.engine import Connection


class NoChannelError(ValueError):
    """A team with neither a `slack_channel` nor a `teams_webhook`: its summary has
    nowhere to go."""

    def __init__(self, team: str) -> None:
        super().__init__(
            f"team {team} has no slack_channel (nor teams_webhook) to post its summary in"
        )


def _team(settings: Settings, name: str) -> TeamConfig:
    team = settings.team(name)
    if team is None:
        raise UnknownTeamError(name, [t.name for t in settings.teams])
    return team


def _counts(
    conn: Connection, team: TeamConfig, team_id: int, week: IsoWeek, as_of: datetime
) -> reports.Breakdown:
    start, end = week.period.bounds(team.timezone)
    return reports.breakdown(conn, reports.Cohort(start, end, as_of, team_id))


def build_summary(
    conn: Connection, settings: Settings, team: str, week: str, as_of: datetime
) -> Summary:
    """The summary of `team`'s ISO `week` (read in the team's time zone), as of `as_of`:
    the same numbers as `bot.app.reports.report` gives for that week and team. Reads only."""
    config = _team(settings, team)
    iso = parse_week(week)
    found = reports.team_id(conn, config.name)
    # configured but never used: no leads (as `services.report` does, without a write)
    team_id = -1 if found is None else found
    current = _counts(conn, config, team_id, iso, as_of)
    per_rep, per_source = reports.named(conn, current)
    totals: list[Counts] = [
        _counts(conn, config, team_id, w, as_of).totals for w in trend_weeks(iso)[:-1]
    ]
    totals.append(current.totals)
    return Summary(
        team=config.name,
        week=str(iso),
        timezone=config.timezone,
        as_of=as_of,
        current=current.totals,
        previous=totals[-2],
        by_rep=tuple(per_rep),
        top_sources=top_sources(per_source),
        trend=tuple(trend_point(w, c) for w, c in zip(trend_weeks(iso), totals, strict=True)),
    )


@dataclass(frozen=True)
class Keys:
    post: str
    chart: str
    teams: str = ""


def summary_keys(team: str, week: str, suffix: str = "") -> Keys:
    return Keys(
        f"summary:{team}:{week}{suffix}",
        f"summary-chart:{team}:{week}{suffix}",
        f"summary-teams:{team}:{week}{suffix}",
    )


def _enqueue(
    conn: Connection,
    settings: Settings,
    summary: Summary,
    *,
    channel: str | None,
    keys: Keys,
    now: datetime,
) -> list[str]:
    """Queues the summary for each platform its team is on: the numbers, which each
    platform words when it delivers them (Slack: a message and its trend chart; Teams: a
    card whose chart image is a link signed then)."""
    team = settings.team(summary.team)
    to = platforms_of(team, MessageKind.SUMMARY) if team is not None else frozenset()
    post = SummaryPost(summary)
    outgoing: list[Outgoing] = []
    if channel is not None and Platform.SLACK in to:
        chart = Chart(
            channel,
            f"ignore-rate-{summary.week}.png",
            t(settings.locale, "summary.chart_title", team=summary.team, week=summary.week),
            summary.trend,
        )
        outgoing += [
            Outgoing(keys.post, post, target=channel),
            Outgoing(keys.chart, chart, target=channel),
        ]
    if Platform.TEAMS in to:
        outgoing.append(Outgoing(keys.teams, post, Platform.TEAMS, summary.team))
    new = enqueue_many(conn, outgoing, now)
    return [m.key for m in outgoing if m.key in new]


def _ids(conn: Connection, settings: Settings, now: datetime) -> dict[str, int]:
    """Team ids; the teams table is written only when a configured team has no row yet
    (this runs every minute)."""
    ids = summaries.team_ids(conn)
    if all(team.name in ids for team in settings.teams):
        return ids
    return team_ids(conn, settings, now)


def make_summary(
    conn: Connection,
    settings: Settings,
    team: str,
    week: str,
    now: datetime,
    *,
    quiet_if_empty: bool = False,
) -> list[str] | None:
    """Makes and queues the summary of `team`'s `week` as of `now`, unless it was made
    already (None). Does not commit: the caller's transaction holds the row and the
    outbox messages together. `quiet_if_empty`: a team that was passed no lead in the
    week nor the week before (a new install, a team not yet live) gets its row, so the
    week counts as done, but no message saying there is nothing to say."""
    config = _team(settings, team)
    if not platforms_of(config, MessageKind.SUMMARY):
        raise NoChannelError(config.name)
    label = str(parse_week(week))
    team_id = _ids(conn, settings, now)[config.name]
    if summaries.made_at(conn, team_id, label) is not None:
        return None
    keys = summary_keys(config.name, label)
    if not summaries.claim_week(conn, team_id, label, keys.post, now):
        return None  # another process made it between our look and our insert
    summary = build_summary(conn, settings, config.name, label, now)
    if quiet_if_empty and not summary.current.handed_off and not summary.previous.handed_off:
        summaries.mark_quiet(conn, team_id, label)
        return []
    return _enqueue(conn, settings, summary, channel=config.slack_channel, keys=keys, now=now)


def enqueue_due_summaries(conn: Connection, settings: Settings, now: datetime) -> list[str]:
    """Queues every team's summary that is due at `now` and not made yet; returns the
    outbox keys queued. Called every minute inside the caller's transaction."""
    queued: list[str] = []
    for team in settings.teams:
        if not team.summary.enabled or not platforms_of(team, MessageKind.SUMMARY):
            continue
        due = due_summary(team.timezone, team.summary, now)
        if due is None:
            continue
        made = make_summary(conn, settings, team.name, due.reported_week, now, quiet_if_empty=True)
        queued += made or []
    return queued


def resend_summary(
    conn: Connection, settings: Settings, team: str, week: str, now: datetime
) -> list[str]:
    """Queues the summary again (numbers as of `now`) under keys ending `:resend-N`, N the
    next free number. Makes the (team, week) row if the summary was never made."""
    config = _team(settings, team)
    if not platforms_of(config, MessageKind.SUMMARY):
        raise NoChannelError(config.name)
    label = str(parse_week(week))
    team_id = _ids(conn, settings, now)[config.name]
    first = summary_keys(config.name, label)
    summaries.claim_week(conn, team_id, label, first.post, now)
    prefix = f"{first.post}:resend-"
    used = outbox_store.keys_starting(conn, prefix)
    numbers = [int(k[len(prefix) :]) for k in used if k[len(prefix) :].isdigit()]
    keys = summary_keys(config.name, label, f":resend-{max(numbers, default=0) + 1}")
    summary = build_summary(conn, settings, config.name, label, now)
    return _enqueue(conn, settings, summary, channel=config.slack_channel, keys=keys, now=now)

"""What the dashboard reads: each team's tile, a team's page (its tables by rep, source and
campaign, rejection reasons, why the rate moved), the weekly trend, the list of leads and
one lead's timeline. Numbers only, no words: the pages word them.

Every count here is the report's (`bot.app.reports.report`, `ignorerate report`,
`/ignorerate`): the same cohort, the same outcome and the same attribution, tallied by the
same grouping in `storage.reports`. A period is read in the team's time zone, as the
report reads it for a team, and a bad period or team raises what `report` raises
(`metrics.errors.PeriodError`, `bot.app.teams.UnknownTeamError`).

In the groups and filters below the empty string `NONE_KEY` stands for "nobody" or
"none": the unassigned rep, a lead of no campaign.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.teams import UnknownTeamError
from bot.config import Settings, TeamConfig
from metrics.model import Outcome
from metrics.periods import Period, parse_period
from metrics.rates import Counts
from metrics.shift_share import ShiftShare, decompose
from metrics.summary import IsoWeek, TrendPoint, trend_point, trend_weeks
from storage import dashboard as store
from storage import reports, summaries
from storage.engine import Connection, Engine

__all__ = [
    "DEFAULT_PERIOD",
    "NONE_KEY",
    "Cursor",
    "CursorError",
    "EventKind",
    "LeadFilter",
    "LeadPage",
    "LeadRow",
    "Outcome",
    "TeamPage",
    "Tile",
    "TimelineEvent",
    "TrendPoint",
    "lead_timeline",
    "leads",
    "leads_csv_rows",
    "overview",
    "overview_with_trends",
    "team_page",
    "trend",
]

DEFAULT_PERIOD = "last-4-weeks"
TREND_WEEKS = 12
NONE_KEY = store.NOBODY
NO_TEAM = -1  # a configured team the database has never seen: it has no leads


def _points(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


@dataclass(frozen=True)
class Tile:
    """One team: its counts in the period and in the same number of days just before."""

    team: str
    timezone: ZoneInfo
    period: Period
    previous_period: Period
    current: Counts
    previous: Counts

    @property
    def change_ignore(self) -> float | None:
        """Percentage points, current minus previous; None if either has no rate."""
        return _points(self.current.ignore_rate, self.previous.ignore_rate)

    @property
    def change_sal(self) -> float | None:
        return _points(self.current.sal_rate, self.previous.sal_rate)

    @property
    def change_sla_breach(self) -> float | None:
        return _points(self.current.sla_breach_rate, self.previous.sla_breach_rate)

    @property
    def change_median_seconds(self) -> float | None:
        return _points(
            self.current.median_first_action_seconds, self.previous.median_first_action_seconds
        )


def _team(settings: Settings, name: str) -> TeamConfig:
    team = settings.team(name)
    if team is None:
        raise UnknownTeamError(name, [t.name for t in settings.teams])
    return team


def previous_period(period: Period, today: date) -> Period:
    """The same number of days just before `period`, named as the explicit range a person
    would type for it (`2026-10-04..2026-10-31`)."""
    first = period.first_day - timedelta(days=period.days)
    last = period.first_day - timedelta(days=1)
    return parse_period(f"{first.isoformat()}..{last.isoformat()}", today)


def _periods(period_text: str, as_of: datetime, tz: ZoneInfo) -> tuple[Period, Period]:
    today = as_of.astimezone(tz).date()
    period = parse_period(period_text, today)
    return period, previous_period(period, today)


def _window(team_id: int, period: Period, tz: ZoneInfo) -> reports.Window:
    return reports.Window(team_id, *period.bounds(tz))


def _team_id(ids: Mapping[str, int], name: str) -> int:
    return ids.get(name, NO_TEAM)


def overview(
    engine: Engine, settings: Settings, period_text: str, as_of: datetime, teams: Sequence[str]
) -> list[Tile]:
    """A tile for each team named (the teams the viewer may see, in the order given): the
    period's counts and the previous period's, all of them read at once
    (`storage.reports.totals_by_window`: `/ignorerate`'s totals of each window)."""
    configs = [_team(settings, name) for name in teams]
    chosen = [(team, *_periods(period_text, as_of, team.timezone)) for team in configs]
    with engine.connect() as conn:
        ids = summaries.team_ids(conn)
        windows = [
            _window(_team_id(ids, team.name), p, team.timezone)
            for team, current, previous in chosen
            for p in (current, previous)
        ]
        counts = reports.totals_by_window(conn, windows, as_of)
    return [
        Tile(team.name, team.timezone, current, previous, counts[2 * i], counts[2 * i + 1])
        for i, (team, current, previous) in enumerate(chosen)
    ]


def trend(
    engine: Engine, settings: Settings, team: str, as_of: datetime, weeks: int = TREND_WEEKS
) -> list[TrendPoint]:
    """The team's rates week by week, the `weeks` ISO weeks (in the team's time zone)
    ending with the week of `as_of`, oldest first: the weekly summary's trend points,
    each week's counts as of `as_of`, read at once as `overview` reads its tiles."""
    if weeks < 1:
        raise ValueError(f"a trend has at least one week, not {weeks}")
    config = _team(settings, team)
    tz = config.timezone
    iso_weeks = trend_weeks(IsoWeek.of(as_of.astimezone(tz).date()), weeks)
    with engine.connect() as conn:
        team_id = _team_id(summaries.team_ids(conn), config.name)
        windows = [_window(team_id, w.period, tz) for w in iso_weeks]
        counts = reports.totals_by_window(conn, windows, as_of)
    return [trend_point(w, c) for w, c in zip(iso_weeks, counts, strict=True)]


def overview_with_trends(
    engine: Engine, settings: Settings, period_text: str, as_of: datetime, teams: Sequence[str]
) -> tuple[list[Tile], list[tuple[str, list[TrendPoint]]]]:
    """`overview` and each team's `trend` (TREND_WEEKS weeks) read at once, equal to
    them: what the overview page shows, in one statement on PostgreSQL, where it was four
    (docs/benchmarks.md, the dashboard)."""
    configs = [_team(settings, name) for name in teams]
    chosen = [(team, *_periods(period_text, as_of, team.timezone)) for team in configs]
    weeks = [
        trend_weeks(IsoWeek.of(as_of.astimezone(team.timezone).date()), TREND_WEEKS)
        for team in configs
    ]
    with engine.connect() as conn:
        ids = summaries.team_ids(conn)
        windows = []
        for (team, current, previous), team_weeks in zip(chosen, weeks, strict=True):
            team_id = _team_id(ids, team.name)
            windows += [_window(team_id, p, team.timezone) for p in (current, previous)]
            windows += [_window(team_id, w.period, team.timezone) for w in team_weeks]
        counts = iter(reports.totals_by_window(conn, windows, as_of))
    tiles, trends = [], []
    for (team, current, previous), team_weeks in zip(chosen, weeks, strict=True):
        tiles.append(Tile(team.name, team.timezone, current, previous, next(counts), next(counts)))
        trends.append((team.name, [trend_point(w, next(counts)) for w in team_weeks]))
    return tiles, trends


@dataclass(frozen=True)
class TeamPage:
    """A team's page for a period: its tile, its counts by attributed rep (email; None:
    unassigned), by source and by campaign (None: none), the reasons its rejected leads
    were rejected, and why its ignore rate moved from the previous period, by group
    ("source", "rep", "campaign"; in those, NONE_KEY is the unassigned rep or no
    campaign)."""

    tile: Tile
    by_rep: list[tuple[str | None, Counts]]
    by_source: list[tuple[str, Counts]]
    by_campaign: list[tuple[str | None, Counts]]
    reasons: list[tuple[str, int]]
    why: dict[str, ShiftShare]


def _keyed(
    groups: Mapping[Any, Counts], name: Mapping[Any, str] | None = None
) -> dict[str, Counts]:
    def key(k: Any) -> str:
        if k is None:
            return NONE_KEY
        return name[k] if name is not None else str(k)

    return {key(k): v for k, v in groups.items()}


def _by_campaign(groups: Mapping[str | None, Counts]) -> list[tuple[str | None, Counts]]:
    named: list[tuple[str | None, Counts]] = sorted(
        ((k, v) for k, v in groups.items() if k is not None), key=lambda kv: str(kv[0])
    )
    if None in groups:
        named.append((None, groups[None]))
    return named


def team_page(
    engine: Engine, settings: Settings, team: str, period_text: str, as_of: datetime
) -> TeamPage:
    """Everything a team's page shows for `period_text` (read in the team's time zone)
    as of `as_of`. The totals, per rep and per source are `report`'s for the same team,
    period and moment; the campaigns split the same total."""
    config = _team(settings, team)
    tz = config.timezone
    current, previous = _periods(period_text, as_of, tz)
    with engine.connect() as conn:
        team_id = _team_id(summaries.team_ids(conn), config.name)
        now = reports.Cohort(*current.bounds(tz), as_of, team_id)
        before = reports.Cohort(*previous.bounds(tz), as_of, team_id)
        after_counts = reports.breakdown(conn, now, campaign=True)
        before_counts = reports.breakdown(conn, before, campaign=True)
        per_rep, per_source = reports.named(conn, after_counts)
        reasons = reports.rejection_reasons(conn, now)
        emails = reports.rep_emails(conn, {*after_counts.by_rep, *before_counts.by_rep})
    why = {
        "source": decompose(_keyed(before_counts.by_source), _keyed(after_counts.by_source)),
        "rep": decompose(_keyed(before_counts.by_rep, emails), _keyed(after_counts.by_rep, emails)),
        "campaign": decompose(_keyed(before_counts.by_campaign), _keyed(after_counts.by_campaign)),
    }
    tile = Tile(config.name, tz, current, previous, after_counts.totals, before_counts.totals)
    return TeamPage(
        tile=tile,
        by_rep=per_rep,
        by_source=per_source,
        by_campaign=_by_campaign(after_counts.by_campaign),
        reasons=[(NONE_KEY if r is None else r, n) for r, n in reasons],
        why=why,
    )


# ---------------------------------------------------------------- the leads


# one lead as the list and the lead page show it: who holds it now (`owner_email`),
# whom its outcome is charged to as of the moment asked about (`charged_to`, the
# report's rep), its outcome and first qualifying action as of then
LeadRow = store.LeadRecord


@dataclass(frozen=True)
class LeadFilter:
    """Which leads to list: those handed off in the period (read in each team's time zone)
    to the teams named, narrowed by each filter given (None: any).

    `owner_email`: only the leads this person holds now (the page layer sets it for a rep,
    who sees only their own). `rep`: the leads whose outcome is charged to this rep, the
    leads the report counts on that rep's row (NONE_KEY: unassigned). `campaign`:
    NONE_KEY lists the leads of no campaign."""

    teams: tuple[str, ...]
    period_text: str = DEFAULT_PERIOD
    owner_email: str | None = None
    outcome: Outcome | None = None
    rep: str | None = None
    source: str | None = None
    campaign: str | None = None


class CursorError(ValueError):
    """A page cursor that this module did not write."""


@dataclass(frozen=True)
class Cursor:
    """Where a page of leads ends: the last lead's handoff time and id."""

    handed_off_at: datetime
    id: int

    def token(self) -> str:
        """The cursor as text for a link: `<unix seconds>.<id>`."""
        return f"{int(self.handed_off_at.timestamp())}.{self.id}"

    @classmethod
    def parse(cls, token: str) -> Cursor:
        seconds, dot, id_ = token.partition(".")
        if not dot or not seconds.lstrip("-").isdigit() or not id_.isdigit():
            raise CursorError(f"not a page cursor: {token!r}")
        try:
            moment = datetime.fromtimestamp(int(seconds), UTC)
        except (OverflowError, OSError, ValueError):
            raise CursorError(f"not a page cursor: {token!r}") from None
        return cls(moment, int(id_))


@dataclass(frozen=True)
class LeadPage:
    rows: list[LeadRow]
    next: Cursor | None  # None: this is the last page


def _lead_query(
    conn: Connection, settings: Settings, wanted: LeadFilter, as_of: datetime
) -> store.LeadQuery:
    configs = [_team(settings, name) for name in wanted.teams]
    ids = summaries.team_ids(conn)
    windows = [
        _window(
            _team_id(ids, t.name), _periods(wanted.period_text, as_of, t.timezone)[0], t.timezone
        )
        for t in configs
    ]
    return store.LeadQuery(
        windows=windows,
        as_of=as_of,
        outcome=None if wanted.outcome is None else wanted.outcome.value,
        charged_to=wanted.rep,
        owner=wanted.owner_email,
        source=wanted.source,
        campaign=wanted.campaign,
    )


def leads(
    engine: Engine,
    settings: Settings,
    filter: LeadFilter,
    as_of: datetime,
    *,
    limit: int,
    after: Cursor | None = None,
) -> LeadPage:
    """A page of at most `limit` leads, newest handoff first (then highest id), after
    `after`; and the cursor of the next page. Paging by keyset: a lead handed off while
    a reader pages appears on no page it has passed, and none appears twice."""
    if limit < 1:
        raise ValueError(f"a page holds at least one lead, not {limit}")
    with engine.connect() as conn:
        query = _lead_query(conn, settings, filter, as_of)
        start = None if after is None else (after.handed_off_at, after.id)
        records, more = store.lead_page(conn, query, limit, start)
    rows = list(records)
    last = rows[-1] if rows else None
    return LeadPage(rows, Cursor(last.handed_off_at, last.id) if more and last else None)


def leads_csv_rows(
    engine: Engine,
    settings: Settings,
    filter: LeadFilter,
    as_of: datetime,
) -> Iterator[LeadRow]:
    """Every lead of the filter, in the list's order, streamed from the database: memory
    stays flat however many there are. A generator: the connection stays open while the
    caller reads."""
    with engine.connect() as conn:
        query = _lead_query(conn, settings, filter, as_of)
        yield from store.all_leads(conn, query)


# ---------------------------------------------------------------- one lead


# one thing that happened to a lead, its kind (`EventKind`) said by the storage that
# reads it: the handoff, an owner change, an action, a nudge
EventKind = store.EventKind
TimelineEvent = store.Event


def lead_timeline(
    engine: Engine,
    settings: Settings,  # noqa: ARG001 (every dashboard read takes the settings)
    lead_id: int,
    as_of: datetime,
) -> tuple[LeadRow, list[TimelineEvent]] | None:
    """The lead (None if there is no such lead) and what happened to it at or before
    `as_of`, in time order: its handoff, owner changes, actions and nudges. The page
    layer checks that the viewer may see the lead (its team, its owner)."""
    with engine.connect() as conn:
        record = store.lead(conn, lead_id, as_of)
        if record is None:
            return None
        found = store.events(conn, lead_id, as_of)
    return record, found

"""Use cases: one function each. Adapters (CLI, webhook, Slack, Teams) call these and
nothing below them, so a click and a CSV row that mean the same thing do the same thing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from bot.config import Settings, TeamConfig
from bot.fields import ActionInput, FieldError, LeadInput
from metrics.model import NewAction
from metrics.nudges import NextNudge, next_nudge
from metrics.periods import Period, parse_period
from metrics.report import Report
from metrics.sla import due_at
from storage import reports
from storage import repository as repo
from storage.tables import Lead, Rep, Team
from storage.types import truncate_to_second


class UnknownTeamError(LookupError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        super().__init__(f'unknown team "{name}"; configured teams: {", ".join(known) or "none"}')


def team_ids(conn: Connection, settings: Settings, now: datetime) -> dict[str, int]:
    return repo.sync_teams(conn, {t.name: t.timezone.key for t in settings.teams}, now)


def ingest_leads(
    conn: Connection, settings: Settings, leads: Sequence[LeadInput], now: datetime
) -> dict[tuple[str, str], int]:
    """Records handoffs; a (source, external_id) already known is left alone.
    Returns the ids of the leads that are new."""
    ids = team_ids(conn, settings, now)
    new = []
    for lead in leads:
        team = settings.team(lead.team)
        if team is None:
            raise UnknownTeamError(lead.team, [t.name for t in settings.teams])
        due, first = lead_schedule(team, lead.handed_off_at, now)
        new.append(
            repo.NewLead(
                source=lead.source,
                external_id=lead.external_id,
                team_id=ids[team.name],
                handed_off_at=lead.handed_off_at,
                due_at=due,
                owner_email=lead.owner_email,
                name=lead.name,
                company=lead.company,
                email=lead.email,
                campaign=lead.campaign,
                next_nudge_at=first.at if first else None,
                nudge_stage=first.stage.value if first else None,
            )
        )
    return repo.add_leads(conn, new, now)


def lead_schedule(
    team: TeamConfig, handed_off_at: datetime, now: datetime
) -> tuple[datetime, NextNudge | None]:
    """A new lead's SLA deadline and first reminder. Raises what the business calendar
    raises (e.g. CalendarError: no working time for years): an import asks this of every
    row before it writes any."""
    due = due_at(handed_off_at, team.sla, team.calendar)
    # a lead handed off before the lookback (an import of history) is counted, not chased
    chase = handed_off_at >= now - timedelta(days=team.nudges.lookback_days)
    first = (
        next_nudge(
            None,
            0,
            handed_off_at=handed_off_at,
            due_at=due,
            cycle_start=None,
            sla_minutes=team.sla.minutes,
            policy=team.nudges,
            calendar=team.calendar,
        )
        if chase
        else None
    )
    return due, first


def action_key(action: ActionInput, origin: str) -> str:
    """Two records of the same thing (same lead, moment, kind, person) are one action."""
    parts = (
        action.source,
        action.external_id,
        truncate_to_second(action.at).isoformat(),
        action.kind.value,
        action.channel or "",
        action.actor_email or "",
        action.reason or "",
        action.new_owner_email or "",
    )
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{origin}:{digest}"


@dataclass(frozen=True)
class ActionOutcome:
    recorded: int
    already_recorded: int
    errors: list[tuple[int, FieldError]]  # (index in the input, problem)


def check_actions(
    conn: Connection, actions: Sequence[ActionInput]
) -> tuple[dict[tuple[str, str], repo.LeadRef], list[tuple[int, FieldError]]]:
    """What the fields alone cannot tell: the lead exists, and the action is not before it."""
    leads = repo.find_leads(conn, (a.key for a in actions))
    errors = []
    for i, action in enumerate(actions):
        ref = leads.get(action.key)
        if ref is None:
            errors.append(
                (
                    i,
                    FieldError(
                        "external_id",
                        f'no lead "{action.external_id}" from source "{action.source}"',
                    ),
                )
            )
        elif truncate_to_second(action.at) < ref.handed_off_at:
            errors.append(
                (
                    i,
                    FieldError(
                        "at",
                        f"{action.at.isoformat()} is before the lead's handoff "
                        f"{ref.handed_off_at.isoformat()}",
                    ),
                )
            )
    return leads, errors


def record_actions(
    conn: Connection,
    settings: Settings,
    actions: Sequence[ActionInput],
    now: datetime,
    via: str,
) -> ActionOutcome:
    """Appends the valid actions; refuses the others, saying why, and records none twice."""
    leads, errors = check_actions(conn, actions)
    bad = {i for i, _ in errors}
    rows = []
    for i, action in enumerate(actions):
        if i in bad:
            continue
        reason = settings.reason(action.reason) if action.reason else None
        rows.append(
            NewAction(
                lead_id=leads[action.key].id,
                at=action.at,
                kind=action.kind,
                idempotency_key=action_key(action, via),
                via=via,
                channel=action.channel,
                reason=reason.code if reason else action.reason,
                excludes=bool(reason and reason.excludes),
                actor_email=action.actor_email,
                new_owner_email=action.new_owner_email,
            )
        )
    inserted = repo.add_actions(conn, rows, now)
    return ActionOutcome(len(inserted), len(rows) - len(inserted), errors)


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


EXPORT_COLUMNS = (
    "source",
    "external_id",
    "team",
    "owner_email",
    "charged_to",
    "handed_off_at",
    "due_at",
    "first_action_at",
    "first_action_kind",
    "outcome",
)


def export_leads(engine: Engine, as_of: datetime) -> Iterator[dict[str, str]]:
    """Every lead with its outcome as of `as_of`, streamed from the database."""
    lead = Lead.__table__.c
    team = Team.__table__.c
    owner = Rep.__table__.alias("owner")
    charged = Rep.__table__.alias("charged")
    query = (
        select(
            lead.source,
            lead.external_id,
            team.name,
            owner.c.email,
            charged.c.email,
            lead.handed_off_at,
            lead.due_at,
            lead.first_action_at,
            reports.first_action_expression(as_of),
            reports.outcome_expression(as_of),
        )
        .join_from(Lead.__table__, Team.__table__, lead.team_id == team.id)
        .outerjoin(owner, reports.owner_expression(as_of) == owner.c.id)
        .outerjoin(charged, reports.attributed_rep_expression(as_of) == charged.c.id)
        .where(lead.handed_off_at <= as_of)
        .order_by(lead.id)
    )
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=5000).execute(query)
        for (
            src,
            ext,
            team_name,
            owner_email,
            charged_to,
            handed,
            due,
            first_at,
            kind,
            result,
        ) in rows:
            visible_first = first_at if first_at is not None and first_at <= as_of else None
            yield {
                "source": src,
                "external_id": ext,
                "team": team_name,
                "owner_email": owner_email or "",
                "charged_to": charged_to or "",
                "handed_off_at": handed.isoformat(),
                "due_at": due.isoformat(),
                "first_action_at": visible_first.isoformat() if visible_first else "",
                "first_action_kind": kind or "",
                "outcome": result,
            }

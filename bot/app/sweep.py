"""The SLA sweep: leads left untouched chase their reps, then their managers.

Gather the leads whose next nudge has come, decide with `metrics.nudges`, then write in
the caller's transaction: the nudge rows (unique per lead, kind and cycle, so nothing is
sent twice whoever sweeps), automatic reassignments as actions, each lead's next nudge,
and the digests to deliver (grouped by `metrics.digests`): one message per person (or
channel) per sweep, never one per lead. The digest lists what is overdue when it is
delivered, so a lead acted on in the meantime is not shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.app.messages import Outgoing, enqueue_many, platforms_of
from bot.config import Settings, TeamConfig
from metrics import digests
from metrics.digests import Digest, TeamsDigest
from metrics.model import ActionKind, NewAction
from metrics.nudges import NextNudge, Stage, defers_to_snooze, next_nudge, pick_round_robin
from metrics.routing import MessageKind, Platform
from storage import nudges as store
from storage import repository as repo
from storage.engine import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    lead_id: int
    stage: Stage
    cycle: int
    owner: str | None  # the owner when it was decided (after a reassignment: the new one)
    team: str


@dataclass
class SweepResult:
    decisions: list[Decision] = field(default_factory=list)  # nudges newly recorded
    reassigned: list[tuple[int, str | None, str]] = field(default_factory=list)
    messages: dict[str, Digest] = field(default_factory=dict)  # by outbox key
    teams_messages: dict[str, TeamsDigest] = field(default_factory=dict)  # by outbox key
    stopped: int = 0  # leads acted on, excluded or out of the lookback: nothing more to send

    def describe(self) -> list[str]:
        lines = [
            f"{d.stage.value:<10} lead {d.lead_id} (team {d.team}, cycle {d.cycle}, "
            f"owner {d.owner or 'unassigned'})"
            for d in self.decisions
        ]
        lines += [
            f"reassign   lead {lead} from {old or 'unassigned'} to {new}"
            for lead, old, new in self.reassigned
        ]
        lines += [
            f"message    {key} -> {digest.to} ({len(digest.lead_ids)} leads)"
            for key, digest in self.messages.items()
        ]
        lines += [
            f"message    {key} -> Teams channel of {d.team} "
            f"({len(d.reminders)} reminders, {len(d.escalations)} escalations)"
            for key, d in self.teams_messages.items()
        ]
        return lines


def _following(
    lead: store.DueLead,
    team: TeamConfig,
    after: Stage | None,
    cycle: int,
    cycle_start: datetime | None,
) -> NextNudge | None:
    return next_nudge(
        after,
        cycle,
        handed_off_at=lead.handed_off_at,
        due_at=lead.due_at,
        cycle_start=cycle_start,
        sla_minutes=team.sla.minutes,
        policy=team.nudges,
        calendar=team.calendar,
    )


@dataclass
class _Lead:
    """One due lead as the sweep walks it through its stages."""

    row: store.DueLead
    stage: Stage
    cycle: int
    at: datetime
    cycle_start: datetime | None
    owner: str | None
    owner_id: int | None


def sweep(
    conn: Connection, settings: Settings, now: datetime, limit: int | None = None
) -> SweepResult:
    """One sweep, written in `conn`'s transaction (roll it back for a dry run)."""
    result = SweepResult()
    progress: list[store.Progress] = []
    wanted: list[tuple[_Lead, TeamConfig]] = []
    for row in store.due_leads(conn, now, limit):
        team = settings.team(row.team)
        too_old = team is not None and row.handed_off_at < now - timedelta(
            days=team.nudges.lookback_days
        )
        if team is None or not row.open or row.stage is None or too_old:
            progress.append(store.Progress(row.id, None, None, row.cycle, row.cycle_started_at))
            result.stopped += 1
            continue
        state = _Lead(
            row,
            Stage(row.stage),
            row.cycle,
            row.next_nudge_at,
            row.cycle_started_at,
            row.owner_email,
            row.owner_id,
        )
        wanted.append((state, team))

    planned: list[_Planned] = []
    for state, team in wanted:
        nxt = _walk(conn, state, team, now, result=result, planned=planned)
        progress.append(
            store.Progress(
                state.row.id,
                nxt.at if nxt else None,
                nxt.stage.value if nxt else None,
                nxt.cycle if nxt else state.cycle,
                state.cycle_start,
            )
        )

    new = store.record_nudges(
        conn, ((p.lead_id, p.stage.value, p.cycle, p.owner_id) for p in planned), now
    )
    due: list[digests.Due] = []
    audiences: dict[str, digests.Audience] = {}
    for p in planned:
        if (p.lead_id, p.stage.value, p.cycle) not in new:
            continue  # another sweep sent it already
        result.decisions.append(Decision(p.lead_id, p.stage, p.cycle, p.owner, p.team.name))
        due.append(digests.Due(p.lead_id, p.stage, p.owner, p.team.name))
        if p.team.name not in audiences:
            audiences[p.team.name] = _audience(p.team)
    grouped = digests.group(due, audiences, now)
    for d in grouped.unreached:
        if d.stage is Stage.ESCALATION:
            log.warning("lead %s: team %s has nobody to escalate to", d.lead_id, d.team)
        else:
            log.warning("lead %s is unassigned and team %s has no channel", d.lead_id, d.team)
    store.save_progress(conn, progress)
    slack_digests, teams_digests = grouped.slack, grouped.teams
    new_keys = enqueue_many(
        conn,
        [Outgoing(k, d, Platform.SLACK, d.to) for k, d in slack_digests.items()]
        + [Outgoing(k, c, Platform.TEAMS, c.team) for k, c in teams_digests.items()],
        now,
    )
    result.messages = {k: d for k, d in slack_digests.items() if k in new_keys}
    result.teams_messages = {k: c for k, c in teams_digests.items() if k in new_keys}
    return result


def _walk(
    conn: Connection,
    state: _Lead,
    team: TeamConfig,
    now: datetime,
    *,
    result: SweepResult,
    planned: list[_Planned],
) -> NextNudge | None:
    """Takes the lead through every stage whose moment has come (several, when the bot
    was down); returns the next one still to come."""
    nxt: NextNudge | None = NextNudge(state.stage, state.cycle, state.at)
    while nxt is not None and nxt.at <= now:
        state.stage, state.cycle = nxt.stage, nxt.cycle
        snoozed_until = state.row.snoozed_until
        if nxt.stage is Stage.HEADS_UP and now >= state.row.due_at:
            pass  # a heads-up that comes after the deadline has nothing to say
        elif defers_to_snooze(nxt.stage) and snoozed_until is not None and snoozed_until > now:
            return NextNudge(nxt.stage, nxt.cycle, snoozed_until)
        elif nxt.stage is Stage.REASSIGN:
            before = _Planned.of(state, team, Stage.REASSIGN, nxt.cycle)
            if _reassign(conn, team, state, now, result):
                planned.append(before)
                state.cycle += 1
                state.cycle_start = now
                nxt = _following(state.row, team, None, state.cycle, now)
                continue
        else:
            planned.append(_Planned.of(state, team, nxt.stage, nxt.cycle))
        nxt = _following(state.row, team, nxt.stage, nxt.cycle, state.cycle_start)
    return nxt


def _reassign(
    conn: Connection,
    team: TeamConfig,
    state: _Lead,
    now: datetime,
    result: SweepResult,
) -> bool:
    """Moves the lead round-robin to the next rep of the team who is not away."""
    away = store.away(conn, team.reps)
    candidates = [r for r in team.reps if r not in away]
    if not [c for c in candidates if c != state.owner]:
        log.warning("lead %s: no rep of team %s to reassign it to", state.row.id, team.name)
        return False
    cursor = store.reassign_cursor(conn, team.name)
    new_owner, cursor = pick_round_robin(candidates, state.owner, cursor)
    store.set_reassign_cursor(conn, team.name, cursor)
    repo.add_actions(
        conn,
        [
            NewAction(
                lead_id=state.row.id,
                at=now,
                kind=ActionKind.REASSIGNED,
                idempotency_key=f"sweep:reassign:{state.row.id}:{state.cycle}",
                via="sweep",
                new_owner_email=new_owner,
                reason="sla_reassignment",
            )
        ],
        now,
    )
    result.reassigned.append((state.row.id, state.owner, new_owner))
    state.owner = new_owner
    state.owner_id = repo.ensure_reps(conn, [new_owner], now)[new_owner]
    return True


@dataclass(frozen=True)
class _Planned:
    """A nudge to record, with the owner as it was when it came due."""

    lead_id: int
    stage: Stage
    cycle: int
    owner: str | None
    owner_id: int | None
    team: TeamConfig

    @classmethod
    def of(cls, state: _Lead, team: TeamConfig, stage: Stage, cycle: int) -> _Planned:
        return cls(state.row.id, stage, cycle, state.owner, state.owner_id, team)


def _audience(team: TeamConfig) -> digests.Audience:
    on = platforms_of(team, MessageKind.DIGEST)
    return digests.Audience(
        slack=Platform.SLACK in on,
        teams=Platform.TEAMS in on,
        slack_channel=team.slack_channel,
        escalate_channel=team.escalate_channel,
        managers=team.managers,
    )

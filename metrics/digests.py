"""How the SLA sweep's new nudges become messages: one Slack digest per person (or
channel) per sweep, and one Teams card per team, never one message per lead.

Pure: the sweep says which nudges it recorded and where each team can be reached; this
says what to send, under which outbox key (the same on every replica for one sweep), and
which nudges reach nobody.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from metrics.nudges import Stage

REMINDING = (Stage.HEADS_UP, Stage.REMINDER)


@dataclass(frozen=True)
class Due:
    """A nudge the sweep recorded, with the owner when it came due."""

    lead_id: int
    stage: Stage
    owner: str | None
    team: str


@dataclass(frozen=True)
class Audience:
    """Where a team's digests go."""

    slack: bool = True  # the team is on Slack for digests (metrics.routing)
    teams: bool = False  # the team is on Microsoft Teams for digests
    slack_channel: str | None = None  # for the reminders of unassigned leads
    escalate_channel: str | None = None
    managers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Digest:
    """One message to one person (or channel) listing the leads it is about."""

    audience: str  # rep, manager, channel
    to: str  # an email, or a channel id
    teams: tuple[str, ...]
    lead_ids: tuple[int, ...]


@dataclass(frozen=True)
class TeamsDigest:
    """One card to a Teams team channel for one sweep: its reminders and escalations (a
    webhook reaches no one directly, so both go to the channel, saying which is which)."""

    team: str
    reminders: tuple[int, ...]
    escalations: tuple[int, ...]


@dataclass(frozen=True)
class Digests:
    slack: dict[str, Digest]  # by outbox key
    teams: dict[str, TeamsDigest]  # by outbox key
    # on Slack but nowhere to go: a reminder of an unassigned lead in a team without a
    # channel, an escalation in a team with no manager and no escalation channel
    unreached: tuple[Due, ...]


def stamp(now: datetime) -> str:
    """The sweep's moment in its outbox keys: the same on every replica."""
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M")


def slack_recipients(due: Due, where: Audience) -> list[tuple[str, str]]:
    """Whose Slack digest lists the nudge, as (audience, to): a reminder goes to the owner
    (to the team channel while there is none), an escalation to every manager and the
    escalation channel; a reassignment is no one's news."""
    if due.stage in REMINDING:
        if due.owner is not None:
            return [("rep", due.owner)]
        return [("channel", where.slack_channel)] if where.slack_channel else []
    if due.stage is Stage.ESCALATION:
        recipients = [("manager", manager) for manager in where.managers]
        if where.escalate_channel:
            recipients.append(("channel", where.escalate_channel))
        return recipients
    return []


def group(nudges: Iterable[Due], audiences: Mapping[str, Audience], now: datetime) -> Digests:
    """The messages one sweep's nudges make; `audiences` by team name, for every team of
    the nudges."""
    by_audience: dict[str, dict[str, dict[str, list[int]]]] = {
        audience: defaultdict(lambda: defaultdict(list))
        for audience in ("rep", "manager", "channel")
    }
    reminders: dict[str, list[int]] = defaultdict(list)
    escalations: dict[str, list[int]] = defaultdict(list)
    unreached: list[Due] = []
    for due in nudges:
        where = audiences[due.team]
        if where.slack:
            recipients = slack_recipients(due, where)
            for audience, to in recipients:
                by_audience[audience][to][due.team].append(due.lead_id)
            if not recipients and due.stage is not Stage.REASSIGN:
                unreached.append(due)
        if where.teams:
            if due.stage in REMINDING:
                reminders[due.team].append(due.lead_id)
            elif due.stage is Stage.ESCALATION:
                escalations[due.team].append(due.lead_id)
    at = stamp(now)
    slack: dict[str, Digest] = {}
    for audience, groups in by_audience.items():
        for to, by_team in sorted(groups.items()):
            slack[f"digest:{audience}:{to}:{at}"] = Digest(
                audience,
                to,
                tuple(sorted(by_team)),
                tuple(sorted(i for ids in by_team.values() for i in ids)),
            )
    teams = {
        f"digest:teams:{team}:{at}": TeamsDigest(
            team,
            tuple(sorted(set(reminders.get(team, ())))),
            tuple(sorted(set(escalations.get(team, ())))),
        )
        for team in sorted(reminders.keys() | escalations.keys())
    }
    return Digests(slack, teams, tuple(unreached))

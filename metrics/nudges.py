"""When an untouched lead chases its rep, then the rep's managers, then moves on.

A lead's nudges run in cycles. Cycle 0 starts at handoff: an optional heads-up before the
deadline, a reminder to the owner at the deadline, an escalation to the managers a delay
after it, and (optionally) a reassignment round-robin a delay after the deadline. A
reassignment starts the next cycle at the moment it happens: the new owner is reminded at
once, and the escalation and the next reassignment run from then. Delays are business
minutes when the policy says so. Snooze defers the reminders to the owner (heads-up and
reminder), not the escalation: a manager still hears about a lead whose SLA ran out, so a
snooze cannot hide neglect. A qualifying action or an exclusion stops everything.

Pure: the caller passes the moments and the calendar; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

from metrics.calendar import BusinessCalendar
from metrics.errors import MetricsError


class Stage(StrEnum):
    HEADS_UP = "heads_up"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    REASSIGN = "reassign"


ORDER = (Stage.HEADS_UP, Stage.REMINDER, Stage.ESCALATION, Stage.REASSIGN)
# how far back a lead may have been handed off and still be chased: older leads (a CSV of
# last year's handoffs) are history to count, not work to remind anyone of
DEFAULT_LOOKBACK_DAYS = 14


@dataclass(frozen=True)
class NudgePolicy:
    heads_up_minutes: int | None = None  # before the deadline; None: no heads-up
    escalate_after_minutes: int | None = 60  # after the deadline; None: no escalation
    escalate_to_channel: bool = False
    reassign_after_minutes: int | None = None  # after the deadline; None: never
    max_reassignments: int = 1
    business_hours: bool = True
    lookback_days: int = DEFAULT_LOOKBACK_DAYS

    def __post_init__(self) -> None:
        for name in ("heads_up_minutes", "escalate_after_minutes", "reassign_after_minutes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise MetricsError(f"{name} must be a positive number of minutes, got {value}")
        if self.max_reassignments < 0:
            raise MetricsError("max_reassignments cannot be negative")


@dataclass(frozen=True)
class SummaryPolicy:
    """The weekly summary: on `weekday` (0 = Monday) at `at`, the team's local time."""

    weekday: int = 0
    at: time = time(9, 0)
    enabled: bool = True


@dataclass(frozen=True)
class NextNudge:
    stage: Stage
    cycle: int
    at: datetime  # UTC


def _after(
    start: datetime, minutes: int, policy: NudgePolicy, calendar: BusinessCalendar
) -> datetime:
    if policy.business_hours:
        return calendar.add_business_minutes(start, minutes).astimezone(UTC)
    return start.astimezone(UTC) + timedelta(minutes=minutes)


def stage_time(  # noqa: PLR0911 (one answer per stage, in order)
    stage: Stage,
    cycle: int,
    *,
    handed_off_at: datetime,
    due_at: datetime,
    cycle_start: datetime | None,
    sla_minutes: int,
    policy: NudgePolicy,
    calendar: BusinessCalendar,
) -> datetime | None:
    """When `stage` of `cycle` is due, or None when the policy has no such stage.
    `cycle_start` is when the cycle's reassignment happened (unused for cycle 0)."""
    anchor = due_at if cycle == 0 else cycle_start
    if anchor is None:
        raise MetricsError(f"cycle {cycle} needs the moment it started")
    if stage is Stage.HEADS_UP:
        minutes = policy.heads_up_minutes
        if cycle > 0 or minutes is None or minutes >= sla_minutes:
            return None
        if policy.business_hours:
            # the moment `minutes` of the SLA's business minutes remain
            return _after(handed_off_at, sla_minutes - minutes, policy, calendar)
        return due_at.astimezone(UTC) - timedelta(minutes=minutes)
    if stage is Stage.REMINDER:
        return anchor.astimezone(UTC)
    if stage is Stage.ESCALATION:
        if policy.escalate_after_minutes is None:
            return None
        return _after(anchor, policy.escalate_after_minutes, policy, calendar)
    if policy.reassign_after_minutes is None or cycle >= policy.max_reassignments:
        return None
    return _after(anchor, policy.reassign_after_minutes, policy, calendar)


def next_nudge(
    after: Stage | None,
    cycle: int,
    *,
    handed_off_at: datetime,
    due_at: datetime,
    cycle_start: datetime | None,
    sla_minutes: int,
    policy: NudgePolicy,
    calendar: BusinessCalendar,
) -> NextNudge | None:
    """The first stage of `cycle` after `after` (None: from the start) that the policy
    has, or None when the cycle has nothing more to send."""
    start = 0 if after is None else ORDER.index(after) + 1
    for stage in ORDER[start:]:
        at = stage_time(
            stage,
            cycle,
            handed_off_at=handed_off_at,
            due_at=due_at,
            cycle_start=cycle_start,
            sla_minutes=sla_minutes,
            policy=policy,
            calendar=calendar,
        )
        if at is not None:
            return NextNudge(stage, cycle, at)
    return None


def defers_to_snooze(stage: Stage) -> bool:
    """Snooze quiets the owner's reminders; managers still hear of an SLA run out."""
    return stage in (Stage.HEADS_UP, Stage.REMINDER)


def pick_round_robin(candidates: list[str], current: str | None, cursor: int) -> tuple[str, int]:
    """The next rep after `cursor` who is not the current owner; returns (rep, new cursor).
    `candidates` are the team's reps not away, in the config's order."""
    pool = [c for c in candidates if c != current]
    if not pool:
        raise MetricsError("no rep to reassign to")
    for step in range(1, len(candidates) + 1):
        index = (cursor + step) % len(candidates)
        if candidates[index] != current:
            return candidates[index], index
    raise AssertionError("unreachable: the pool is not empty")  # pragma: no cover

"""The facts the counting rules read: leads, their owners over time, and actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ActionKind(StrEnum):
    CONTACTED = "contacted"
    REJECTED = "rejected"
    EXCLUDED = "excluded"
    REASSIGNED = "reassigned"
    SNOOZED = "snoozed"
    COMMENT = "comment"


class ContactChannel(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    MESSAGE = "message"
    OTHER = "other"


class Outcome(StrEnum):
    EXCLUDED = "excluded"
    ON_TIME = "on_time"
    LATE = "late"
    PENDING = "pending"
    IGNORED = "ignored"


def is_exclusion(kind: ActionKind, *, excludes: bool) -> bool:
    """An action that takes its lead out of the count: excluded, or rejected for a reason
    that excludes. Every reader of the rule (the count, the stored summary columns and
    the SQL that finds the action again) asks this function."""
    return kind is ActionKind.EXCLUDED or (kind is ActionKind.REJECTED and excludes)


def is_qualifying(kind: ActionKind, *, excludes: bool) -> bool:
    """A rep's real touch: contacted, or rejected for a reason that does not exclude."""
    return kind is ActionKind.CONTACTED or (kind is ActionKind.REJECTED and not excludes)


@dataclass(frozen=True)
class NewAction:
    """An action to record, in the words of the actions table: what a click plan, an import
    and the sweep hand storage."""

    lead_id: int
    at: datetime
    kind: ActionKind
    idempotency_key: str
    via: str
    channel: str | None = None
    reason: str | None = None
    excludes: bool = False
    actor_email: str | None = None
    new_owner_email: str | None = None
    until: datetime | None = None
    cross_team: bool = False  # reassigned by an admin to a rep of another team

    @property
    def is_exclusion(self) -> bool:
        return is_exclusion(self.kind, excludes=self.excludes)

    @property
    def is_qualifying(self) -> bool:
        return is_qualifying(self.kind, excludes=self.excludes)


@dataclass(frozen=True)
class RejectReason:
    """A reason a rep may give for declining a lead; `excludes` takes the lead out of the count."""

    code: str
    excludes: bool


@dataclass(frozen=True)
class Action:
    """One thing that happened to a lead.

    `excludes` is decided when the action is recorded (from the reason catalog), so
    that a later change to the catalog does not rewrite history.
    `seq` orders actions recorded at the same instant: the earlier-recorded one is first.
    """

    at: datetime
    kind: ActionKind
    seq: int = 0
    channel: ContactChannel | None = None
    reason: str | None = None
    excludes: bool = False
    actor: str | None = None
    new_owner: str | None = None

    @property
    def is_exclusion(self) -> bool:
        return is_exclusion(self.kind, excludes=self.excludes)

    @property
    def is_qualifying(self) -> bool:
        return is_qualifying(self.kind, excludes=self.excludes)


@dataclass(frozen=True)
class OwnerSpan:
    """`rep` holds the lead from `since` until the next span (None: unassigned)."""

    since: datetime
    rep: str | None
    seq: int = 0


@dataclass(frozen=True)
class Lead:
    source: str
    external_id: str
    handed_off_at: datetime
    due_at: datetime
    team: str | None = None
    owners: tuple[OwnerSpan, ...] = ()
    actions: tuple[Action, ...] = field(default=())

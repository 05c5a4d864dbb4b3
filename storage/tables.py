"""The schema. Times are `UtcTimestamp` (UTC, whole seconds).

Idempotency lives here: unique keys on (source, external_id), action idempotency keys,
Slack event ids, (lead, nudge kind, cycle), (team, ISO week) and outbox keys. An insert
that meets an existing key is the duplicate, whichever process made it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UtcTimestamp

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY, so ids are BIGINT on PostgreSQL
# (a million leads a year for decades) and INTEGER on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcTimestamp()}  # noqa: RUF012 (SQLAlchemy's declared hook)


class Team(Base):
    """A sales team. Its policy lives in the config file; the row gives it an id."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # index in the config's rep list of the last rep a lead was reassigned to (round-robin)
    reassign_cursor: Mapped[int] = mapped_column(Integer, default=-1, server_default="-1")


class Rep(Base):
    """A person who can own or act on leads, known by email (lower-cased)."""

    __tablename__ = "reps"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    slack_dm_channel: Mapped[str | None] = mapped_column(String(32))
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str | None] = mapped_column(String(64))  # from Slack's profile
    created_at: Mapped[datetime]


# what storage.reports reads of a lead beside its team and handoff time, carried by the
# indexes of a cohort's range on PostgreSQL (migration 0008): the totals' columns, and the
# breakdowns' and rejection reasons' too
BREAKDOWN_INDEX = "ix_leads_team_breakdown"
POSTGRESQL_ONLY_INDEXES = frozenset({BREAKDOWN_INDEX})  # built by the models on PostgreSQL only


def on_this_database(dialect: str, kind: str, name: str | None) -> bool:
    """Whether a schema object of the models is built on `dialect` (Alembic's
    `include_object` asks, comparing the models with a database)."""
    return not (kind == "index" and name in POSTGRESQL_ONLY_INDEXES and dialect != "postgresql")


TOTALS_COLUMNS = ["due_at", "first_action_at", "excluded_at", "first_action_kind"]
BREAKDOWN_COLUMNS = [
    *TOTALS_COLUMNS,
    "id",
    "source",
    "campaign",
    "initial_owner_id",
    "reassigned_at",
]


class Lead(Base):
    """One lead. The columns after `owner_id` summarise the actions table so that reports
    aggregate one row per lead; `storage.repository` keeps them in step, and a property
    test holds the SQL answers equal to the pure ones computed from the actions."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index(None, "handed_off_at"),
        # a cohort's range (migration 0008)
        Index(None, "team_id", "handed_off_at", postgresql_include=TOTALS_COLUMNS),
        # PostgreSQL only: without INCLUDE (SQLite) it would be the one above again
        Index(
            BREAKDOWN_INDEX,
            "team_id",
            "handed_off_at",
            postgresql_include=BREAKDOWN_COLUMNS,
        ).ddl_if(dialect="postgresql"),
        Index(None, "due_at"),
        Index(None, "next_nudge_at"),
        Index(None, "owner_id", "due_at"),  # a rep's open and overdue leads
        Index(None, "team_id", "due_at"),  # a team's overdue leads, for its managers
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    handed_off_at: Mapped[datetime]
    due_at: Mapped[datetime]
    name: Mapped[str | None] = mapped_column(String(300))
    company: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    campaign: Mapped[str | None] = mapped_column(String(300))
    initial_owner_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"))
    # earliest qualifying action (contacted, or rejected for a reason that does not exclude)
    first_action_at: Mapped[datetime | None]
    first_action_kind: Mapped[str | None] = mapped_column(String(20))
    first_action_channel: Mapped[str | None] = mapped_column(String(20))
    excluded_at: Mapped[datetime | None]  # earliest exclusion
    reassigned_at: Mapped[datetime | None]  # earliest reassignment: before it, owner = initial
    snoozed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # the nudge the SLA sweep sends next, and when (None: nothing more to send). The sweep
    # reads only leads whose moment has come, so its cost follows the due leads.
    next_nudge_at: Mapped[datetime | None]
    nudge_stage: Mapped[str | None] = mapped_column(String(20))
    nudge_cycle: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cycle_started_at: Mapped[datetime | None]  # when an automatic reassignment began it


class LeadOwner(Base):
    """Owner history: `rep_id` holds the lead from `since` (None: unassigned)."""

    __tablename__ = "lead_owners"
    __table_args__ = (Index(None, "lead_id", "since"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"))
    since: Mapped[datetime]
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"))  # who moved it
    # an admin gave the lead to a rep of another team (anyone else picks in the lead's team)
    cross_team: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Action(Base):
    """Append-only log of everything done to a lead: who, when, how, and from where."""

    __tablename__ = "actions"
    __table_args__ = (Index(None, "lead_id", "at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(300))
    excludes: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"))
    new_owner_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"))
    via: Mapped[str] = mapped_column(String(20))  # csv, slack, teams, webhook, cli
    until: Mapped[datetime | None]  # snoozed: reminders wait until then (the SLA does not)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    recorded_at: Mapped[datetime]


class Nudge(Base):
    """A reminder or escalation decided for a lead; the key makes a second one impossible."""

    __tablename__ = "nudges"
    __table_args__ = (UniqueConstraint("lead_id", "kind", "cycle"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    kind: Mapped[str] = mapped_column(String(20))  # heads_up, reminder, escalation, reassign
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"))  # the owner nudged
    created_at: Mapped[datetime]


class OutboxMessage(Base):
    """A message to deliver, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(10))  # slack, teams
    target: Mapped[str] = mapped_column(String(200))  # channel or user id, or webhook name
    payload: Mapped[str] = mapped_column(Text)  # JSON
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(100))  # Slack message ts
    # claims that expired unfinished (the sender died mid-send): each may be a duplicate
    redeliveries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class WeeklySummary(Base):
    """One row per team per ISO week: the summary exists at most once."""

    __tablename__ = "weekly_summaries"
    __table_args__ = (UniqueConstraint("team_id", "iso_week"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    iso_week: Mapped[str] = mapped_column(String(10))  # 2026-W47
    outbox_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class SlackEvent(Base):
    """Slack event ids already handled: retries and repeated deliveries stop here."""

    __tablename__ = "slack_events"
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[datetime]


class CrmCursor(Base):
    """How far a CRM sync has read one object (a Salesforce `Lead`, a HubSpot `calls`):
    the newest modification time applied, written in the transaction that applies the
    page, so a sync killed mid-page resumes from the last page it finished."""

    __tablename__ = "crm_cursors"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)  # salesforce, hubspot
    object: Mapped[str] = mapped_column(String(40), primary_key=True)
    cursor_at: Mapped[datetime | None]  # None: never read; the first run reads everything
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # in a row
    records: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # read, ever


class CrmBudget(Base):
    """A CRM's API budget as it last reported it (Salesforce's Sforce-Limit-Info)."""

    __tablename__ = "crm_budgets"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger)
    max: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime]


class CrmAlias(Base):
    """A CRM record id that stands for a lead under another id: the master a merged lead
    went into, or the lead a merged-away id went into. Activities on either id count for
    `lead_id`."""

    __tablename__ = "crm_aliases"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    crm_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    created_at: Mapped[datetime]


class CrmWritten(Base):
    """A record this bot created in a CRM (write-back of a click): the sync skips it, so a
    click is never read back as a second action."""

    __tablename__ = "crm_written"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    crm_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"))
    created_at: Mapped[datetime]

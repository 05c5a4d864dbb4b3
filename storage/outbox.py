"""The outbox table: claims with a lease, outcomes, and what an operator lists and retries.

Claiming is safe with several senders: on PostgreSQL the candidates are read with
`FOR UPDATE SKIP LOCKED`, so two replicas never wait on or take the same row; on both
databases the lease is then taken by a conditional UPDATE, which only one writer can win.
A claim that expired without an outcome means a sender died mid-send: the row goes out
again, and `redeliveries` counts it, since Slack may already have shown it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

from sqlalchemy import Connection, Table, and_, func, or_, select, update

from storage import repository as repo
from storage.tables import OutboxMessage

OUTBOX = cast(Table, OutboxMessage.__table__)


class Status(StrEnum):
    """Where a row is: waiting (or being sent), taken by its platform, or parked."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


@dataclass(frozen=True)
class NewMessage:
    """A message to queue: its idempotency key, the platform whose sender delivers it,
    where to (a channel, a user, or "" for the sender to decide) and its JSON payload."""

    key: str
    platform: str
    target: str
    payload: str


def queue(conn: Connection, messages: Sequence[NewMessage], now: datetime) -> set[str]:
    """Queues `messages` in one statement; returns the keys that were new (a key already
    queued is the same message, left as it is)."""
    if not messages:
        return set()
    rows = [
        {
            "key": m.key,
            "platform": m.platform,
            "target": m.target,
            "payload": m.payload,
            "status": Status.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for m in messages
    ]
    if conn.dialect.name == "postgresql":
        # one array a column: a VALUES list of 500 cards is 4,000 parameters to parse
        inserted = repo._unnest_insert(conn, OUTBOX, rows, conflict=["key"], returning=["key"])
        return {str(key) for (key,) in inserted}
    stmt = (
        repo._insert(conn, OUTBOX)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OUTBOX.c.key)
    )
    return set(conn.execute(stmt, rows).scalars())


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    target: str
    payload: str
    attempts: int
    redelivered: bool  # a previous claim expired without an outcome


@dataclass(frozen=True)
class Row:
    id: int
    key: str
    platform: str
    target: str
    status: str
    attempts: int
    redeliveries: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def claim(
    conn: Connection,
    platform: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    *,
    skip: Sequence[int] = (),
) -> list[Claimed]:
    """Up to `limit` due rows, leased until `now + lease`; `skip`: ids passed over."""
    free = or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now)
    rows = conn.execute(
        select(
            OUTBOX.c.id,
            OUTBOX.c.key,
            OUTBOX.c.target,
            OUTBOX.c.payload,
            OUTBOX.c.attempts,
            OUTBOX.c.claimed_until,
        )
        .where(
            OUTBOX.c.status == Status.PENDING,
            OUTBOX.c.platform == platform,
            OUTBOX.c.next_attempt_at <= now,
            free,
            OUTBOX.c.id.not_in(list(skip)),
        )
        .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer at a time
    ).all()
    claimed = []
    for id_, key, target, payload, attempts, claimed_until in rows:
        redelivered = claimed_until is not None
        taken = conn.execute(
            update(OUTBOX)
            .where(and_(OUTBOX.c.id == id_, OUTBOX.c.status == Status.PENDING, free))
            .values(
                claimed_until=now + lease,
                redeliveries=OUTBOX.c.redeliveries + (1 if redelivered else 0),
            )
        ).rowcount
        if taken:
            claimed.append(Claimed(id_, key, target, payload, attempts, redelivered))
    return claimed


def finish(
    conn: Connection,
    id_: int,
    status: Status,
    attempts: int,
    now: datetime,
    *,
    ref: str | None = None,
    error: str | None = None,
) -> None:
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == id_, OUTBOX.c.status == Status.PENDING)  # the first outcome stands
        .values(
            status=status,
            attempts=attempts,
            external_ref=ref,
            last_error=error,
            claimed_until=None,
            sent_at=now if status == Status.SENT else None,
        )
    )


def later(
    conn: Connection, id_: int, at: datetime, *, attempts: int, error: str | None = None
) -> None:
    """Back to pending, not before `at`; nothing if the row is no longer pending (a sender
    whose lease ran out while another sent it must not undo that)."""
    values: dict[str, object] = {"attempts": attempts, "claimed_until": None, "next_attempt_at": at}
    if error is not None:
        values["last_error"] = error
    conn.execute(
        update(OUTBOX).where(OUTBOX.c.id == id_, OUTBOX.c.status == Status.PENDING).values(values)
    )


def release(conn: Connection, id_: int) -> None:
    """Lets a claimed row go untried, as it was."""
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == id_, OUTBOX.c.status == Status.PENDING)
        .values(claimed_until=None)
    )


def next_due(conn: Connection, platform: str) -> datetime | None:
    return cast(
        datetime | None,
        conn.execute(
            select(func.min(OUTBOX.c.next_attempt_at)).where(
                OUTBOX.c.status == Status.PENDING, OUTBOX.c.platform == platform
            )
        ).scalar(),
    )


def listing(conn: Connection, status: Status, limit: int = 200) -> list[Row]:
    rows = conn.execute(
        select(
            OUTBOX.c.id,
            OUTBOX.c.key,
            OUTBOX.c.platform,
            OUTBOX.c.target,
            OUTBOX.c.status,
            OUTBOX.c.attempts,
            OUTBOX.c.redeliveries,
            OUTBOX.c.next_attempt_at,
            OUTBOX.c.last_error,
            OUTBOX.c.created_at,
            OUTBOX.c.sent_at,
        )
        .where(OUTBOX.c.status == status)
        .order_by(OUTBOX.c.id)
        .limit(limit)
    )
    return [Row(*row) for row in rows]


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status))
    return {status: int(n) for status, n in rows}


def redeliveries(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.sum(OUTBOX.c.redeliveries), 0))).scalar_one())


def requeue(conn: Connection, id_: int) -> bool:
    """A dead message back to pending, with its tries counted afresh, due at once and in
    its original place in the queue (whatever the clock of whoever asked)."""
    return bool(
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == id_, OUTBOX.c.status == "dead")
            .values(
                status="pending",
                attempts=0,
                next_attempt_at=OUTBOX.c.created_at,
                claimed_until=None,
            )
        ).rowcount
    )


def keys_starting(conn: Connection, prefix: str) -> list[str]:
    """The keys queued that start with `prefix` (taken literally: `%` and `_` are text)."""
    return list(
        conn.execute(
            select(OUTBOX.c.key).where(OUTBOX.c.key.startswith(prefix, autoescape=True))
        ).scalars()
    )

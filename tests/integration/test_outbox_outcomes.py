"""A sender whose claim expired mid-send (it stalled past its lease, and another sender took
the row and finished it) must not undo what the other one recorded: an outcome is written
only while the row is still pending, and the first outcome stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from storage import outbox
from storage.tables import OutboxMessage

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def _row(engine: Engine) -> tuple[str, int, str | None, datetime | None]:
    table = OutboxMessage.__table__
    with engine.connect() as conn:
        status, attempts, error, next_at = conn.execute(
            select(table.c.status, table.c.attempts, table.c.last_error, table.c.next_attempt_at)
        ).one()
    return status, attempts, error, next_at


def _two_claims(engine: Engine) -> tuple[int, int]:
    """The same row claimed by a sender that then stalls, and after its lease by another."""
    with engine.begin() as conn:
        outbox.queue(conn, [outbox.NewMessage("k1", "slack", "C1", "{}")], NOW)
        (stalled,) = outbox.claim(conn, "slack", NOW, LEASE, 1)
    with engine.begin() as conn:
        (second,) = outbox.claim(conn, "slack", NOW + LEASE + timedelta(seconds=1), LEASE, 1)
        assert second.redelivered
    return stalled.id, second.id


def test_a_stalled_sender_cannot_put_a_sent_message_back_to_pending(engine: Engine) -> None:
    stalled, second = _two_claims(engine)
    with engine.begin() as conn:
        outbox.finish(conn, second, outbox.Status.SENT, 1, NOW + LEASE, ref="ts-1")
    with engine.begin() as conn:  # the stalled sender's send failed: it asks for a retry
        outbox.later(conn, stalled, NOW + timedelta(hours=1), attempts=1, error="timeout")
        outbox.release(conn, stalled)
    status, attempts, error, _ = _row(engine)
    assert (status, attempts, error) == ("sent", 1, None)


def test_a_stalled_sender_cannot_overwrite_the_outcome_another_recorded(engine: Engine) -> None:
    stalled, second = _two_claims(engine)
    with engine.begin() as conn:
        outbox.finish(conn, second, outbox.Status.SENT, 1, NOW + LEASE, ref="ts-1")
    with engine.begin() as conn:
        outbox.finish(conn, stalled, outbox.Status.DEAD, 8, NOW + LEASE, error="channel_not_found")
    table = OutboxMessage.__table__
    with engine.connect() as conn:
        status, ref, error = conn.execute(
            select(table.c.status, table.c.external_ref, table.c.last_error)
        ).one()
    assert (status, ref, error) == ("sent", "ts-1", None)


def test_a_pending_row_still_takes_its_retry(engine: Engine) -> None:
    stalled, _ = _two_claims(engine)
    with engine.begin() as conn:
        outbox.later(conn, stalled, NOW + timedelta(hours=1), attempts=2, error="timeout")
    status, attempts, error, next_at = _row(engine)
    assert (status, attempts, error) == ("pending", 2, "timeout")
    assert next_at == NOW + timedelta(hours=1)

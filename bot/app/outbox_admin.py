"""The outbox as an operator sees it (`ignorerate outbox`): how many messages wait, went
out or were parked as dead, which ones, and the dead sent again on request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage import outbox as rows
from storage.engine import Engine, writing
from storage.outbox import Row, Status


@dataclass(frozen=True)
class OutboxState:
    counts: dict[str, int]  # by status: pending, sent, dead (a status with none is absent)
    redelivered: int  # messages sent again because their sender died mid-send
    listed: list[Row]  # the messages of the statuses asked for, status by status


def outbox_state(engine: Engine, statuses: Sequence[Status] = ()) -> OutboxState:
    """The counts, and the messages of each of `statuses` (pending, dead), read at once."""
    with engine.connect() as conn:
        return OutboxState(
            counts=rows.counts(conn),
            redelivered=rows.redeliveries(conn),
            listed=[row for status in statuses for row in rows.listing(conn, status)],
        )


def retry_dead(engine: Engine, ids: Sequence[int]) -> list[int]:
    """Puts the dead messages `ids` back in the queue, in one transaction; returns those of
    `ids` that name no dead message (nothing is done for them)."""
    with writing(engine) as conn:
        return [id_ for id_ in ids if not rows.requeue(conn, id_)]

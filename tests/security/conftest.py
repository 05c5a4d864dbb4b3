"""The running bot for the security suite, and a census of what it has recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select

from storage.tables import Action, Lead, OutboxMessage
from tests.e2e.conftest import Bot, running_bot


@dataclass(frozen=True)
class Census:
    leads: int
    actions: int
    outbox: int


def census(engine: Engine) -> Census:
    """How many leads, actions and outbox messages are stored: a refused request must
    leave all three as they were."""
    with engine.connect() as conn:
        counts = [
            int(conn.execute(select(func.count()).select_from(t.__table__)).scalar_one())
            for t in (Lead, Action, OutboxMessage)
        ]
    return Census(*counts)


@pytest.fixture
def bot(database_url: str) -> Iterator[Bot]:
    with running_bot(database_url) as running:
        yield running

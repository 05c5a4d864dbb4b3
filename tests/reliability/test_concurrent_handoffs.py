"""The same handoff delivered twenty times at once (a CRM retrying while its first try is
still in flight) is one lead, with one card, and every answer names the same id."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from storage.tables import Lead, OutboxMessage
from tests.e2e.conftest import Bot
from tests.e2e.test_thin_path import lead


def test_the_same_handoff_twenty_times_at_once_is_one_lead_with_one_card(bot: Bot) -> None:
    payload = lead("DUP-1")

    def send(_: int) -> httpx.Response:
        return bot.handoff(payload)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))
    assert [a.status_code for a in answers] == [202] * 20
    ids = {a.json()["accepted"][0]["id"] for a in answers}
    assert len(ids) == 1
    assert sum(a.json()["accepted"][0]["new"] for a in answers) == 1
    with bot.engine.connect() as conn:
        leads = conn.execute(select(func.count()).select_from(Lead.__table__)).scalar_one()
        cards = conn.execute(select(func.count()).select_from(OutboxMessage.__table__)).scalar()
    assert (leads, cards) == (1, 1)

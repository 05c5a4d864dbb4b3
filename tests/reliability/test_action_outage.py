"""The action webhook while PostgreSQL is down: 503 with Retry-After and a reason, never a
500, nothing recorded; once the database is back the same request is taken, and sent
again records nothing twice."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import Action
from tests.e2e.conftest import Bot, running_bot
from tests.e2e.test_action_webhook import action
from tests.e2e.test_thin_path import lead
from tests.reliability.processes import private_cluster

WAIT = 120.0  # seconds: generous, the machine is shared; the wait ends on a 202


def _actions(bot: Bot) -> int:
    with bot.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Action.__table__)).scalar_one())


def _until_taken(bot: Bot, payload: Any) -> httpx.Response:
    """Sends the request until it is taken, as a sender's retry queue does."""
    deadline = time.monotonic() + WAIT
    while True:
        answer = bot.action(payload)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


@pytest.mark.slow
def test_actions_sent_while_the_database_is_down_are_refused_503_then_taken() -> None:
    with private_cluster() as cluster:
        engine = make_engine(cluster.url)
        upgrade(engine)
        engine.dispose()
        with running_bot(cluster.url) as bot:
            assert bot.handoff({"leads": [lead("OUT-1"), lead("OUT-2")]}).status_code == 202
            assert bot.action(action("OUT-1")).status_code == 202
            bot.engine.dispose()  # the test's own connections go with the server
            cluster.stop("immediate")
            batch = {"actions": [action("OUT-1", "comment"), action("OUT-2")]}
            for door, answer in (
                ("action", bot.action(batch)),
                ("handoff", bot.handoff(lead("X"))),
            ):
                assert answer.status_code == 503, (door, answer.text)
                assert answer.headers["Retry-After"] == "1"
                assert "the database is unavailable" in answer.json()["error"]
            assert bot.action(batch).json()["error"] == (
                "the database is unavailable; the actions may not be recorded: send the same "
                "request again (an action already recorded is not recorded twice)"
            )
            cluster.start()
            taken = _until_taken(bot, batch)
            assert taken.status_code == 202, taken.text
            assert [a["new"] for a in taken.json()["accepted"]] == [True, True]
            again = bot.action(batch)
            assert [a["new"] for a in again.json()["accepted"]] == [False, False]
            assert _actions(bot) == 3

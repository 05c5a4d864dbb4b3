"""The outbox against a local server that fails like Slack, on SQLite and PostgreSQL, with
a fixed clock moved forward: nothing is lost, nothing is sent twice but what a crash
makes possible, and that is counted."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import Engine, select

from bot.app.messages import Post, TeamsDigest, encode, enqueue
from bot.cli import main as cli
from bot.clock import FixedClock
from bot.config import Settings, parse_settings
from bot.outbox import engine as outbox_engine
from bot.slack.messenger import SlackMessenger, make_client
from bot.slack.people import Directory
from bot.slack.sender import slack_outbox
from storage import outbox as outbox_store
from storage.tables import OutboxMessage
from tests.fakes import BOT_TOKEN, FakeSlack, fake_slack

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
OUTBOX = OutboxMessage.__table__


def config(**delivery: Any) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "teams": [{"name": "t", "sla": {"minutes": 60}, "reps": ["a@example.com"]}],
        # no pacing to speak of, where pacing is not what a test is about
        "delivery": {"per_channel_per_second": 100_000, "per_second": 100_000, **delivery},
    }


@dataclass
class Outbox:
    engine: Engine
    slack: FakeSlack
    clock: FixedClock
    settings: Settings
    results: list[str]

    def sender(self, api_url: str | None = None) -> outbox_engine.Outbox:
        url = api_url or f"{self.slack.url}/api/"
        messenger = SlackMessenger(make_client(BOT_TOKEN, url, timeout=1, interactive=False))
        return slack_outbox(
            self.engine,
            self.settings,
            messenger,
            Directory(self.engine, messenger, self.clock),
            clock=self.clock,
            rng=random.Random(7),
            on_result=self.results.append,
        )

    def queue(self, n: int, channels: int) -> list[str]:
        keys = [f"post:{i}" for i in range(n)]
        with self.engine.begin() as conn:
            for i, key in enumerate(keys):
                channel = f"C{i % channels}"
                enqueue(conn, key, Post(channel, f"message {i}"), self.clock.now(), target=channel)
        return keys

    def rows(self) -> dict[str, tuple[str, int, int]]:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(OUTBOX.c.key, OUTBOX.c.status, OUTBOX.c.attempts, OUTBOX.c.redeliveries)
            )
            return {key: (status, tries, again) for key, status, tries, again in found}


def make_outbox(engine: Engine, slack: FakeSlack, **delivery: Any) -> Outbox:
    settings = parse_settings(config(**delivery), "test.yml", env={})
    return Outbox(engine, slack, FixedClock(NOW), settings, [])


@pytest.fixture
def outbox(engine: Engine) -> Iterator[Outbox]:
    with fake_slack() as slack:
        yield make_outbox(engine, slack)


def test_slack_down_for_a_stretch_then_up_delivers_every_message_exactly_once(
    outbox: Outbox,
) -> None:
    keys = outbox.queue(12, channels=6)
    # first a replica whose Slack is unreachable (connection refused), then Slack itself
    # answering 500s and stalling past the client's timeout without doing the work
    outbox.sender("http://127.0.0.1:1/api/").run_once()
    assert all(tries == 1 for _, tries, _ in outbox.rows().values())
    outbox.slack.fail("chat.postMessage", "500", times=8)
    outbox.slack.fail("chat.postMessage", "stall", times=2, value=1.5)
    sender = outbox.sender()
    for _ in range(30):
        if all(status == "sent" for status, _, _ in outbox.rows().values()):
            break
        sender.run_once()
        outbox.clock.advance(timedelta(minutes=10))
    assert outbox.slack.delivered() == dict.fromkeys(keys, 1)
    assert {status for status, _, _ in outbox.rows().values()} == {"sent"}
    assert outbox.results.count("sent") == 12
    assert "dead" not in outbox.results


def test_a_429_storm_is_waited_out_without_a_failed_try_or_a_loss(outbox: Outbox) -> None:
    keys = outbox.queue(8, channels=8)
    outbox.slack.fail("chat.postMessage", "429", times=5, value=30)
    sender = outbox.sender()
    for _ in range(5):
        calls = len(outbox.slack.called("chat.postMessage"))
        sender.run_once()
        assert len(outbox.slack.called("chat.postMessage")) == calls + 1  # one, then it waits
        sender.run_once()
        assert len(outbox.slack.called("chat.postMessage")) == calls + 1  # still waiting
        outbox.clock.advance(timedelta(seconds=29))
        sender.run_once()
        assert len(outbox.slack.called("chat.postMessage")) == calls + 1  # Retry-After is 30
        outbox.clock.advance(timedelta(seconds=1))
    while sender.run_once():
        pass
    assert outbox.slack.delivered() == dict.fromkeys(keys, 1)
    assert {tries for _, tries, _ in outbox.rows().values()} == {1}  # a 429 is not a try
    assert outbox.results.count("rate_limited") == 5


def test_a_message_that_keeps_failing_is_parked_listed_and_sent_again_on_request(
    engine: Engine, tmp_path: Path
) -> None:
    with fake_slack() as slack:
        box = make_outbox(engine, slack, max_attempts=3)
        (key,) = box.queue(1, channels=1)
        slack.fail("chat.postMessage", "500", times=3)
        sender = box.sender()
        for _ in range(3):
            sender.run_once()
            box.clock.advance(timedelta(minutes=30))
        assert box.rows()[key][:2] == ("dead", 3)
        assert box.results == ["retry", "retry", "dead"]

        path = tmp_path / "ignorerate.yml"
        path.write_text(yaml.safe_dump(config()), encoding="utf-8")
        env = {"DATABASE_URL": engine.url.render_as_string(hide_password=False)}
        run = CliRunner()
        listed = run.invoke(cli, ["--config", str(path), "outbox", "--dead"], env=env)
        assert listed.exit_code == 0, listed.output
        assert "dead: 1" in listed.output
        assert key in listed.output
        assert "500" in listed.output  # the last error, for whoever looks
        with engine.connect() as conn:
            id_ = conn.execute(select(OUTBOX.c.id)).scalar_one()
        missing = run.invoke(cli, ["--config", str(path), "outbox", "retry", "999"], env=env)
        assert missing.exit_code == 1
        assert "no dead message with id 999" in missing.output
        again = run.invoke(cli, ["--config", str(path), "outbox", "retry", str(id_)], env=env)
        assert again.exit_code == 0, again.output
        assert sender.run_once() == 1
        assert slack.delivered() == {key: 1}
        assert box.rows()[key][0] == "sent"


def test_an_error_no_retry_can_mend_parks_the_message_at_once(outbox: Outbox) -> None:
    (key,) = outbox.queue(1, channels=1)
    outbox.slack.fail("chat.postMessage", "error:channel_not_found")
    outbox.sender().run_once()
    assert outbox.rows()[key][:2] == ("dead", 1)


def test_a_row_it_cannot_read_or_its_platform_cannot_send_is_parked_and_the_rest_go(
    outbox: Outbox,
) -> None:
    (good,) = outbox.queue(1, channels=1)
    with outbox.engine.begin() as conn:
        outbox_store.queue(
            conn,
            [
                outbox_store.NewMessage("fax:1", "slack", "C9", '{"kind": "fax"}'),
                outbox_store.NewMessage(
                    "teams-only:1", "slack", "t", encode(TeamsDigest("t", (1,), ()))
                ),
            ],
            outbox.clock.now(),
        )
    assert outbox.sender().run_once() == 1
    rows = outbox.rows()
    assert rows[good][0] == "sent"
    assert rows["fax:1"][:2] == ("dead", 1)
    assert rows["teams-only:1"][:2] == ("dead", 1)
    with outbox.engine.connect() as conn:
        errors = dict(conn.execute(select(OUTBOX.c.key, OUTBOX.c.last_error)).all())
    assert "unknown message kind 'fax'" in errors["fax:1"]
    assert "TeamsDigest is not sent on Slack" in errors["teams-only:1"]
    assert outbox.results.count("dead") == 2


def test_two_senders_at_once_take_each_message_once(outbox: Outbox) -> None:
    keys = outbox.queue(30, channels=30)
    first, second = outbox.sender(), outbox.sender()
    import threading

    threads = [threading.Thread(target=s.run_once, kwargs={"limit": 30}) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outbox.slack.delivered() == dict.fromkeys(keys, 1)


def test_a_sender_killed_mid_send_is_redelivered_once_and_counted(
    engine: Engine, tmp_path: Path
) -> None:
    with fake_slack() as slack:
        box = make_outbox(engine, slack)
        (key,) = box.queue(1, channels=1)
        path = tmp_path / "ignorerate.yml"
        path.write_text(yaml.safe_dump(config()), encoding="utf-8")
        slack.fail("chat.postMessage", "hang", times=1, value=3)  # Slack posts, then answers
        child = subprocess.Popen(  # noqa: S603 (our own test replica)
            [
                sys.executable,
                "-m",
                "tests.replica",
                "--config",
                str(path),
                "--database",
                engine.url.render_as_string(hide_password=False),
                "--slack",
                slack.url,
                "--start",
                NOW.isoformat(),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            slack.wait_for("chat.postMessage", timeout=30)  # the child is mid-send
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        assert box.rows()[key][0] == "pending"
        sender = box.sender()
        assert sender.run_once() == 0  # its lease still holds
        box.clock.advance(timedelta(minutes=3))
        assert sender.run_once() == 1
        slack.wait_for("chat.postMessage", count=2)
        status, tries, redeliveries = box.rows()[key]
        assert (status, redeliveries) == ("sent", 1)
        assert tries == 1
        assert box.results == ["redelivered", "sent"]
        # Slack may have taken it twice: at most one duplicate for the one crash, counted
        assert slack.delivered()[key] <= 1 + redeliveries

"""The CRM sync end to end: the running bot (`build_service`, as `serve` runs it) against a
fake Salesforce over HTTPS and a fake Slack, and `ignorerate crm sync` as processes that
are killed mid-page or race as replicas."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text

from bot.app.reports import report
from storage.engine import make_engine
from tests.e2e.conftest import CONFIG, NOW, Bot, running_bot
from tests.fake_salesforce import CLIENT_ID, FakeSalesforce, fake_salesforce, make_keys

MQL = "Marketing Qualified"
SALESFORCE = {
    "handoff": {"object": "Lead", "when": f"Status = '{MQL}'", "at": "MQL_Date__c"},
    "actions": {"tasks": {"subtypes": ["Call", "Email"]}, "events": True},
    "write_back": {"task": True},
}


@dataclass
class Crm:
    fake: FakeSalesforce
    env: dict[str, str]
    rep: str  # a@example.com's Salesforce user id

    def mql(self, minutes_ago: int = 10) -> str:
        """A lead owned by the rep, marketing-qualified `minutes_ago` before NOW."""
        self.fake.now = NOW - timedelta(minutes=minutes_ago)
        lead = self.fake.add_lead(self.rep)
        self.fake.update(
            "Lead", lead, by=self.rep, Status=MQL, MQL_Date__c=NOW - timedelta(minutes=minutes_ago)
        )
        return lead


@pytest.fixture
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Crm]:
    keys = make_keys(tmp_path)
    with fake_salesforce(tmp_path, keys.public_key) as (fake, ca_file):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
        fake.page_size = 2
        fake.add_field("Lead", "MQL_Date__c")
        rep = fake.add_user("a@example.com", username="integration@example.com")
        env = {
            "SALESFORCE_CLIENT_ID": CLIENT_ID,
            "SALESFORCE_USERNAME": "integration@example.com",
            "SALESFORCE_PRIVATE_KEY_FILE": str(keys.private_key_file),
            "SALESFORCE_LOGIN_URL": fake.base_url,
            "REQUESTS_CA_BUNDLE": str(ca_file),
        }
        yield Crm(fake, env, rep)


@pytest.fixture
def bot(database_url: str, crm: Crm) -> Iterator[Bot]:
    with running_bot(database_url, env_extra=crm.env, crm={"salesforce": SALESFORCE}) as running:
        yield running


def lead_id(bot: Bot, crm_id: str) -> int:
    with bot.engine.connect() as conn:
        found = conn.execute(
            text("SELECT id FROM leads WHERE source = 'salesforce' AND external_id = :e"),
            {"e": crm_id},
        ).scalar_one()
    return int(found)


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_the_crm_drives_cards_nudges_the_rate_and_takes_clicks_back(bot: Bot, crm: Crm) -> None:
    assert bot.service.sync_crm is not None
    called, ignored = crm.mql(), crm.mql()
    bot.service.sync_crm()
    # a lead marketing-qualified in Salesforce becomes a card in its owner's DM
    first, second = lead_id(bot, called), lead_id(bot, ignored)
    bot.wait_card(first)
    bot.wait_card(second)
    dms = [m for m in bot.slack.posted if m["channel"] == "UA"]  # a@example.com's DM
    assert len(dms) == 2
    # the rep calls the first lead 20 minutes in and logs it in Salesforce, not in Slack
    crm.fake.now = NOW + timedelta(minutes=20)
    crm.fake.log_task(called, crm.rep, subtype="Call")
    bot.clock.advance(timedelta(minutes=25))
    bot.service.sync_crm()
    # past the 60-minute deadline, only the lead nobody touched is chased
    bot.clock.advance(timedelta(hours=2))
    bot.tick()
    nudged = {lead for (lead,) in rows(bot.engine, "SELECT lead_id FROM nudges")}
    assert nudged == {second}
    totals = report(bot.engine, bot.settings, "this-week", bot.clock.now(), "enterprise").totals
    assert (totals.handed_off, totals.on_time, totals.late, totals.ignored) == (2, 1, 0, 1)
    # a click in Slack on the other lead is written back as exactly one Task ...
    click = bot.click_payload("UA", "lead.contacted.email", value=str(second))
    assert bot.interact(click).status_code == 200
    assert bot.interact(click).status_code == 200  # Slack retries the same click
    deadline = time.monotonic() + 10
    while not crm.fake.tasks_created() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # a second Task, if any, would be made by now
    (task,) = crm.fake.tasks_created()
    assert task["WhoId"] == ignored
    assert task["TaskSubtype"] == "Email"
    assert task["Description"].startswith("[ignorerate]")
    # ... which the next sync reads and does not count a second time
    bot.service.sync_crm()
    assert rows(
        bot.engine,
        f"SELECT kind, via FROM actions WHERE lead_id = {second} ORDER BY id",  # noqa: S608
    ) == [("contacted", "slack")]
    totals = report(bot.engine, bot.settings, "this-week", bot.clock.now(), "enterprise").totals
    assert (totals.on_time, totals.late, totals.ignored) == (1, 1, 0)
    # the sync's state is on /healthz and /metrics
    health = bot.http.get(f"{bot.url}/healthz").json()
    assert health["crm"]["salesforce"]["errors"] == 0
    assert health["crm"]["salesforce"]["lag_seconds"] is not None
    metrics = bot.http.get(f"{bot.url}/metrics").text
    assert 'ignorerate_crm_records_total{result="lead_new",source="salesforce"} 2.0' in metrics
    assert "ignorerate_crm_lag_seconds{source=" in metrics
    assert "ignorerate_crm_api_budget_left{source=" in metrics


def test_a_merged_lead_keeps_its_actions(bot: Bot, crm: Crm) -> None:
    assert bot.service.sync_crm is not None
    master, loser = crm.mql(), crm.mql(minutes_ago=5)
    crm.fake.now = NOW + timedelta(minutes=10)
    crm.fake.log_task(loser, crm.rep, subtype="Call")
    bot.clock.advance(timedelta(minutes=15))
    bot.service.sync_crm()
    crm.fake.now = NOW + timedelta(minutes=30)
    crm.fake.merge(master=master, loser=loser)
    bot.clock.advance(timedelta(minutes=20))
    bot.service.sync_crm()
    got = rows(
        bot.engine,
        "SELECT l.external_id, a.kind, a.reason FROM actions a JOIN leads l ON l.id = a.lead_id "
        "ORDER BY l.external_id, a.kind",
    )
    # the call stays on the merged-away lead, which is excluded as the duplicate, and
    # counts for the master too: one contacted lead, no ignored one
    assert sorted(got) == sorted(
        [(loser, "contacted", None), (loser, "excluded", "duplicate"), (master, "contacted", None)]
    )
    bot.clock.advance(timedelta(hours=2))
    totals = report(bot.engine, bot.settings, "this-week", bot.clock.now(), "enterprise").totals
    assert (totals.handed_off, totals.excluded, totals.on_time, totals.ignored) == (2, 1, 1, 0)


def test_crm_errors_show_on_healthz_without_making_the_bot_unhealthy(bot: Bot, crm: Crm) -> None:
    assert bot.service.sync_crm is not None
    crm.mql()
    crm.fake.fail("session", times=3)  # refused, and again after the one re-auth
    bot.service.sync_crm()
    health = bot.http.get(f"{bot.url}/healthz")
    assert health.status_code == 200
    state = health.json()["crm"]["salesforce"]
    assert state["errors"] >= 1
    assert "INVALID_SESSION_ID" in state["last_error"]
    assert (
        'ignorerate_crm_errors{source="salesforce"} 1.0' in bot.http.get(f"{bot.url}/metrics").text
    )


# ------------------------------------------------------------ processes


def _config(tmp_path: Path, database_url: str) -> Path:
    config = json.loads(json.dumps(CONFIG))
    config["crm"] = {"salesforce": {**SALESFORCE, "write_back": {}}}
    config["database_url"] = database_url
    path = tmp_path / "ignorerate.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _cli(config: Path, crm: Crm, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **crm.env, "IGNORERATE_CONFIG": str(config)}
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(  # noqa: S603 (our own CLI, arguments from this test)
        [sys.executable, "-m", "bot", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _recorded(database_url: str) -> tuple[list[str], list[str]]:
    engine = make_engine(database_url)
    try:
        leads = [r[0] for r in rows(engine, "SELECT external_id FROM leads ORDER BY 1")]
        keys = [r[0] for r in rows(engine, "SELECT idempotency_key FROM actions ORDER BY 1")]
    finally:
        engine.dispose()
    return leads, keys


@pytest.mark.slow
def test_a_sync_killed_mid_page_resumes_without_loss_or_duplicate(
    tmp_path: Path, database_url: str, crm: Crm
) -> None:
    expected = [crm.mql(minutes_ago=30 - i) for i in range(7)]
    crm.fake.now = NOW
    calls = [crm.fake.log_task(lead, crm.rep) for lead in expected]
    config = _config(tmp_path, database_url)
    crm.fake.hang_on_more = 2  # the third page of leads never comes
    process = _cli(config, crm, "crm", "sync", "--once")
    assert crm.fake.hanging.wait(timeout=30), "the sync never reached the hanging page"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL
    leads, _ = _recorded(database_url)
    assert 0 < len(leads) < len(expected)  # killed between pages: some applied, not all
    again = _cli(config, crm, "crm", "sync", "--once")
    _out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    leads, keys = _recorded(database_url)
    assert leads == sorted(expected)
    assert len(keys) == len(calls) == len(set(keys))


@pytest.mark.slow
def test_three_replicas_sync_once_between_them(tmp_path: Path, database_url: str, crm: Crm) -> None:
    expected = [crm.mql(minutes_ago=30 - i) for i in range(6)]
    config = _config(tmp_path, database_url)
    crm.fake.hang_on_more = 1  # the first sync to page holds the lock while it waits
    first = _cli(config, crm, "crm", "sync", "--once")
    assert crm.fake.hanging.wait(timeout=30)
    logins = crm.fake.requests["token"]
    others = [_cli(config, crm, "crm", "sync", "--once") for _ in range(2)]
    answers = [p.communicate(timeout=60) for p in others]
    # the others found the sync under way: they did nothing, and said so
    assert [p.returncode for p in others] == [1, 1]
    assert all("another process is syncing" in err for _, err in answers)
    assert crm.fake.requests["token"] == logins  # they did not even log in
    crm.fake.released.set()  # the page comes at last
    _out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    leads, _ = _recorded(database_url)
    assert leads == sorted(expected)


# ------------------------------------------------------------ the commands


def _run(config: Path, crm: Crm, *args: str) -> Any:
    from click.testing import CliRunner

    from bot.cli import main

    env = {**crm.env, "IGNORERATE_CONFIG": str(config), "DATABASE_URL": ""}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_the_crm_commands(tmp_path: Path, database_url: str, crm: Crm) -> None:
    config = _config(tmp_path, database_url)
    from storage.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    before = _run(config, crm, "crm", "status")
    assert before.exit_code == 0, before.output
    assert "salesforce: never synced" in before.output
    leads = [crm.mql(minutes_ago=20), crm.mql(minutes_ago=10)]
    # a dry run reads and says what it would do, and writes nothing
    dry = _run(config, crm, "crm", "sync", "--once", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "2 new leads" in dry.output
    assert "handoff time from: field 2" in dry.output
    assert "dry run: nothing was written" in dry.output
    assert _recorded(database_url) == ([], [])
    # the real one
    done = _run(config, crm, "crm", "sync", "--once", "--source", "salesforce")
    assert done.exit_code == 0, done.output
    assert _recorded(database_url)[0] == sorted(leads)
    status = _run(config, crm, "crm", "status", "--format", "json")
    (state,) = json.loads(status.output)
    assert state["source"] == "salesforce"
    assert state["errors"] == 0
    assert state["budget_max"] == crm.fake.api_max
    assert {o["object"] for o in state["objects"]} >= {"Lead", "Task", "Event"}
    # a backfill from a date reads history again: nothing new, nothing doubled
    back = _run(config, crm, "crm", "backfill", "--since", "2026-01-01")
    assert back.exit_code == 0, back.output
    assert "0 new leads" in back.output
    assert _recorded(database_url)[0] == sorted(leads)
    # what is refused, and why
    bad = _run(config, crm, "crm", "backfill", "--since", "last tuesday")
    assert bad.exit_code == 2
    assert "expected a date such as 2026-01-01" in bad.output
    assert "pass --once" in _run(config, crm, "crm", "sync").output
    unconfigured = _run(config, crm, "crm", "sync", "--once", "--source", "hubspot")
    assert unconfigured.exit_code == 2
    assert "hubspot is not configured" in unconfigured.output
    # a failing CRM: exit 1, the error said and stored, the cursor kept
    crm.fake.fail("session", times=3)  # the session refused, and again after re-auth
    failed = _run(config, crm, "crm", "sync", "--once")
    assert failed.exit_code == 1
    assert "INVALID_SESSION_ID" in failed.output
    status = json.loads(_run(config, crm, "crm", "status", "--format", "json").output)[0]
    assert status["errors"] >= 1
    assert "INVALID_SESSION_ID" in status["last_error"]

"""The service with Teams configured, on SQLite and PostgreSQL: it refuses to start
without PUBLIC_BASE_URL or IGNORERATE_LINK_SECRET, serves the summary's chart image to a
link it signed (and only then), and delivers to Teams with Slack off."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.app.fields import LeadInput
from bot.app.handoffs import receive_handoffs
from bot.clock import FixedClock
from bot.config import ConfigError, Settings, parse_settings, read_environment
from bot.links import LinkSigner
from bot.serve import build_service
from bot.teams.sender import chart_url
from storage import reports
from tests.fakes import fake_workflows, serve

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
SECRET = "a-link-secret-for-tests-only"
HOOK = "https://example.webhook.office.com/workflows/1?sig=secret"


def settings(database_url: str, webhook: str = HOOK) -> Settings:
    raw: dict[str, Any] = {
        "timezone": "UTC",
        "database_url": database_url,
        "teams": [
            {
                "name": "sales",
                "sla": {"minutes": 60, "business_hours": False},
                "reps": ["a@example.com"],
                "teams_webhook": webhook,
            }
        ],
    }
    return parse_settings(raw, "test.yml", env={})


@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "PUBLIC_BASE_URL"),
        ({"IGNORERATE_LINK_SECRET": SECRET}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "https://bot.example.com"}, "IGNORERATE_LINK_SECRET"),
    ],
)
def test_a_team_with_a_teams_webhook_will_not_start_without_its_link_settings(
    env: dict[str, str], missing: str
) -> None:
    s = settings("sqlite:////nonexistent/never-opened.db")
    with pytest.raises(ConfigError, match=missing) as err:
        build_service(s, read_environment(env), FixedClock(NOW), scheduler_interval=None)
    assert "sales" in str(err.value)


def seed_team(engine: Engine, s: Settings) -> int:
    lead = LeadInput("web", "L1", NOW - timedelta(days=7), "sales", None, None, None, None, None)
    receive_handoffs(engine, s, [lead], NOW - timedelta(days=7))
    with engine.connect() as conn:
        found = reports.team_id(conn, "sales")
    assert found is not None
    return found


@pytest.mark.one_backend
def test_the_chart_route_serves_a_png_to_a_signed_link_only(
    engine: Engine, database_url: str
) -> None:
    s = settings(database_url)
    team_id = seed_team(engine, s)
    clock = FixedClock(NOW)
    env = {"PUBLIC_BASE_URL": "https://bot.example.com", "IGNORERATE_LINK_SECRET": SECRET}
    service = build_service(s, read_environment(env), clock, scheduler_interval=None)
    signer = LinkSigner(SECRET)
    good = chart_url("", signer, team_id, "2026-W47", NOW)
    body, _, mac = good.removesuffix(".png").rpartition(".")
    tampered = f"{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}.png"
    other = LinkSigner("some-other-secret-entirely")
    try:
        with serve(service.app) as url, httpx.Client(base_url=url, timeout=20) as http:
            ok = http.get(good)
            assert ok.status_code == 200
            assert ok.headers["content-type"] == "image/png"
            assert ok.content.startswith(b"\x89PNG")
            assert http.get(tampered).status_code == 403
            assert http.get(chart_url("", other, team_id, "2026-W47", NOW)).status_code == 403
            ack = signer.sign("ack", {"t": team_id, "w": "2026-W47"}, NOW + timedelta(days=1))
            assert http.get(f"/charts/{ack}.png").status_code == 403  # another purpose
            clock.advance(timedelta(days=15))
            assert http.get(good).status_code == 410
    finally:
        service.stop()


def test_teams_cards_go_out_with_slack_off(engine: Engine, database_url: str) -> None:
    with fake_workflows() as hook:
        s = settings(database_url, hook.webhook())
        env = {"PUBLIC_BASE_URL": "https://bot.example.com", "IGNORERATE_LINK_SECRET": SECRET}
        service = build_service(
            s, read_environment(env), FixedClock(NOW), 0.05, scheduler_interval=None
        )
        assert service.slack_mode == "off"
        service.start()
        try:
            seed_team(engine, s)
            deadline = time.monotonic() + 10
            while not hook.received and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            service.stop()
        assert len(hook.received) == 1


def test_a_teams_claim_left_by_a_stuck_sender_lasts_the_configured_lease(
    engine: Engine, database_url: str
) -> None:
    # a webhook that takes the request and never answers: its sender is stuck mid-send
    # with the row claimed, as one killed there leaves it
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    taken: list[socket.socket] = []
    arrived = threading.Event()

    def swallow() -> None:
        conn, _ = listener.accept()
        taken.append(conn)
        arrived.set()

    env = {
        "PUBLIC_BASE_URL": "https://bot.example.com",
        "IGNORERATE_LINK_SECRET": SECRET,
        "IGNORERATE_OUTBOX_LEASE": "600",
    }
    clock = FixedClock(NOW)
    stuck_settings = settings(database_url, f"http://127.0.0.1:{port}/workflows/1?sig=x")
    with fake_workflows() as hook:
        stuck = build_service(stuck_settings, read_environment(env), clock, scheduler_interval=None)
        restarted = build_service(
            settings(database_url, hook.webhook()),
            read_environment(env),
            clock,
            scheduler_interval=None,
        )
        stuck_worker, restarted_worker = stuck.worker_of("teams"), restarted.worker_of("teams")
        assert stuck_worker is not None
        assert restarted_worker is not None
        seed_team(engine, stuck_settings)
        threading.Thread(target=swallow, daemon=True).start()
        sending = threading.Thread(target=stuck_worker.deliverer.run_once, daemon=True)
        sending.start()
        try:
            assert arrived.wait(timeout=20)
            again = restarted_worker.deliverer
            assert again.run_once() == 0
            clock.advance(timedelta(minutes=5))  # the default lease (2 min) is long past
            assert again.run_once() == 0
            assert hook.received == []
            clock.advance(timedelta(minutes=5, seconds=1))  # the configured 10 min are past
            assert again.run_once() == 1
            assert len(hook.received) == 1
        finally:
            for conn in taken:
                conn.close()
            listener.close()
            sending.join(timeout=20)
            stuck.stop()
            restarted.stop()


def test_a_lease_a_teams_send_could_outlast_stops_the_start_naming_it() -> None:
    s = settings("sqlite:////nonexistent/never-opened.db")
    env = {
        "PUBLIC_BASE_URL": "https://bot.example.com",
        "IGNORERATE_LINK_SECRET": SECRET,
        "IGNORERATE_OUTBOX_LEASE": "5",
    }
    with pytest.raises(ConfigError, match="IGNORERATE_OUTBOX_LEASE: 5s is not longer than"):
        build_service(s, read_environment(env), FixedClock(NOW), scheduler_interval=None)

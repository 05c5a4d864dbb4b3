"""`serve` mounts the dashboard's sign-in when the environment configures it, stops the
start naming what is missing when it is half configured, and leaves it off otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.clock import FixedClock
from bot.config import ConfigError, Settings, parse_settings, read_environment
from bot.serve import build_service

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
FULL = {
    "IGNORERATE_SESSION_SECRET": "s" * 40,
    "IGNORERATE_OIDC_CLIENT_ID": "client",
    "IGNORERATE_OIDC_CLIENT_SECRET": "secret",
    "IGNORERATE_OIDC_ISSUER": "http://127.0.0.1:9",
    "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
}


def _settings(database_url: str) -> Settings:
    raw = {
        "timezone": "UTC",
        "database_url": database_url,
        "teams": [{"name": "sales", "sla": {"minutes": 60}, "reps": ["a@example.com"]}],
    }
    return parse_settings(raw, "test.yml", env={})


def _paths(env: dict[str, str], database_url: str) -> set[str]:
    service = build_service(
        _settings(database_url), read_environment(env), FixedClock(NOW), scheduler_interval=None
    )
    try:
        return {r.path for r in service.app.routes if isinstance(r, Route)}
    finally:
        service.stop()


def test_the_dashboard_is_off_without_its_settings(engine: Engine, database_url: str) -> None:
    assert engine is not None
    paths = _paths({}, database_url)
    assert "/login" not in paths
    assert "/" not in paths


def test_the_dashboard_sign_in_is_mounted_with_its_settings(
    engine: Engine, database_url: str
) -> None:
    assert engine is not None
    assert {"/login", "/auth/callback", "/logout", "/", "/leads", "/leads.csv"} <= _paths(
        FULL, database_url
    )
    service = build_service(
        _settings(database_url), read_environment(FULL), FixedClock(NOW), scheduler_interval=None
    )
    try:
        with TestClient(service.app, base_url="http://127.0.0.1:3000") as client:
            # no session: a browser is sent to sign in, anything else is told so
            answer = client.get("/logout")
            assert answer.status_code == 200
            assert "set-cookie" not in answer.headers  # no session written, no cookie
            health = client.get("/healthz")
            assert "set-cookie" not in health.headers
    finally:
        service.stop()


@pytest.mark.parametrize(
    "missing",
    [
        "IGNORERATE_SESSION_SECRET",
        "IGNORERATE_OIDC_CLIENT_ID",
        "IGNORERATE_OIDC_CLIENT_SECRET",
        "PUBLIC_BASE_URL",
    ],
)
def test_half_a_dashboard_stops_the_start_naming_what_is_missing(
    engine: Engine, database_url: str, missing: str
) -> None:
    assert engine is not None
    env = {k: v for k, v in FULL.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        build_service(
            _settings(database_url), read_environment(env), FixedClock(NOW), scheduler_interval=None
        )

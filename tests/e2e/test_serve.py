"""`ignorerate serve` as a process, and Socket Mode start-up."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select

from bot.clock import FixedClock, SystemClock
from bot.config import parse_settings, read_environment
from bot.serve import build_service
from storage.engine import make_engine
from storage.tables import OutboxMessage
from tests.e2e.conftest import (
    CONFIG,
    NOW,
    SIGNING_SECRET,
    USERS,
    WEBHOOK_SECRET,
    sign_webhook,
    slack_payload,
)
from tests.fakes import APP_TOKEN, BOT_TOKEN, fake_slack, serve

pytestmark = pytest.mark.one_backend  # the database is incidental here


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_without_slack_and_says_so(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "ignorerate.yml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SLACK_") and k != "IGNORERATE_WEBHOOK_SECRET"
    }
    env.update({"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(config)})
    process = subprocess.Popen(  # noqa: S603 (our own CLI)
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None
        assert health.json() == {"ok": True, "database": "ok", "slack": "off"}
        slack = httpx.post(f"http://127.0.0.1:{port}/slack/events", content=b"{}")
        assert slack.status_code == 503
        hook = httpx.post(f"http://127.0.0.1:{port}/hooks/handoff", content=b"{}")
        assert hook.status_code == 503
        assert "IGNORERATE_WEBHOOK_SECRET" in hook.json()["error"]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    assert (
        "Slack is off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN not set" in err
    )
    assert process.returncode == 0


def test_socket_mode_connects_and_answers_a_slash_command(database_url: str) -> None:
    settings = parse_settings(
        yaml.safe_load(yaml.safe_dump(CONFIG)), "test.yml", {"DATABASE_URL": database_url}
    )
    with fake_slack() as slack:
        for user_id, email in USERS.items():
            slack.add_user(user_id, email)
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": f"{slack.url}/api/",
        }
        service = build_service(settings, read_environment(env), FixedClock(NOW))
        assert service.slack_mode == "socket"
        service.start()
        try:
            assert slack.socket_connected.wait(10), "the bot never opened the socket"
            assert slack.called("apps.connections.open")
            envelope = json.loads(slack_payload("socket_mode_slash_commands.json"))
            envelope["payload"].update(
                {
                    "command": "/ignorerate",
                    "text": "help",
                    "user_id": "UA",
                    "response_url": f"{slack.url}/response/socket",
                }
            )
            slack.push_envelope(envelope)
            (reply,) = slack.wait_for_response()
            assert "Usage:" in reply["text"]
            deadline = time.monotonic() + 5
            while not slack.socket_acks and time.monotonic() < deadline:
                time.sleep(0.02)
            assert slack.socket_acks[0]["envelope_id"] == envelope["envelope_id"]
        finally:
            service.stop()


# ------------------------------------------------------------ Slack down at start


def _serve_with_slack_at(
    port: int, database_url: str, tmp_path: Path, token: str = BOT_TOKEN
) -> tuple[subprocess.Popen[str], str]:
    """`ignorerate serve` told that Slack's Web API is on loopback `port`, up or not."""
    config = tmp_path / "ignorerate.yml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "IGNORERATE_CONFIG": str(config),
            "SLACK_BOT_TOKEN": token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"http://127.0.0.1:{port}/api/",
            "SLACK_API_TIMEOUT": "2",
            "IGNORERATE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
    )
    bot_port = free_port()
    process = subprocess.Popen(  # noqa: S603 (our own CLI)
        [sys.executable, "-m", "bot", "serve", "--port", str(bot_port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, f"http://127.0.0.1:{bot_port}"


def _health(url: str, timeout: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return dict(httpx.get(f"{url}/healthz", timeout=5).json())
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("serve never answered /healthz")


def _slash_help(url: str, response_url: str) -> httpx.Response:
    body = urlencode(
        {
            "team_id": "T111",
            "channel_id": "CELSEWHERE",
            "user_id": "UA",
            "command": "/ignorerate",
            "text": "help",
            "response_url": response_url,
            "trigger_id": "1.1.x",
        }
    )
    ts = str(int(time.time()))
    signature = str(SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body))
    return httpx.post(
        f"{url}/slack/events",
        content=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        },
        timeout=10,
    )


def _card_rows(database_url: str) -> list[tuple[str, int]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            table = OutboxMessage.__table__
            rows = conn.execute(
                select(table.c.status, table.c.attempts).where(table.c.key.like("card:%"))
            ).all()
    finally:
        engine.dispose()
    return [(str(status), int(attempts)) for status, attempts in rows]


def test_serve_starts_while_slack_is_down_and_serves_slack_once_it_is_back(
    database_url: str, tmp_path: Path
) -> None:
    slack_port = free_port()  # nothing listens there yet: connections are refused
    process, url = _serve_with_slack_at(slack_port, database_url, tmp_path)
    try:
        assert _health(url) == {"ok": True, "database": "ok", "slack": "unreachable"}
        lead = {
            "source": "webform",
            "external_id": "DOWN-1",
            "handed_off_at": SystemClock().now().isoformat(),  # serve runs on real time
            "team": "enterprise",
            "owner_email": "a@example.com",
            "name": "Hanako Yamada",
        }
        body = json.dumps(lead).encode()
        hook = httpx.post(
            f"{url}/hooks/handoff",
            content=body,
            headers=sign_webhook(body, int(time.time())),
            timeout=10,
        )
        assert hook.status_code == 202
        assert _card_rows(database_url) == [("pending", 0)]  # waiting, no try spent
        refused = _slash_help(url, f"http://127.0.0.1:{slack_port}/response/commands/0")
        assert refused.status_code == 503
        assert refused.headers["Retry-After"].isdigit()

        with fake_slack(slack_port) as slack:
            for user_id, email in USERS.items():
                slack.add_user(user_id, email)
            answer = refused
            deadline = time.monotonic() + 60
            while answer.status_code == 503 and time.monotonic() < deadline:
                time.sleep(0.5)  # each refused request also asks for a check now
                answer = _slash_help(url, f"{slack.url}/response/commands/0")
            assert answer.status_code == 200
            (reply,) = slack.wait_for_response()
            assert "Usage:" in reply["text"]
            assert _health(url)["slack"] == "ok"
            (card,) = slack.wait_for("chat.postMessage")
            assert "Hanako Yamada" in json.dumps(card)
            deadline = time.monotonic() + 10
            while _card_rows(database_url) != [("sent", 1)] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _card_rows(database_url) == [("sent", 1)]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert "Slack cannot be reached (URLError" in err
    assert "Traceback" not in err
    assert BOT_TOKEN not in err
    assert process.returncode == 0


def test_a_token_slack_refuses_at_start_ends_serve_with_one_line(
    database_url: str, tmp_path: Path
) -> None:
    with fake_slack() as slack:
        port = int(slack.url.rsplit(":", 1)[1])
        process, _ = _serve_with_slack_at(port, database_url, tmp_path, token="xoxb-not-ours")
        _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.strip().splitlines()[-1] == (
        "error: Slack refused SLACK_BOT_TOKEN (invalid_auth): set it to a valid token of "
        "this app and start again"
    )
    assert "Traceback" not in err
    assert "xoxb-not-ours" not in err


def test_a_token_slack_refuses_once_it_is_back_ends_serve_with_one_line(
    database_url: str, tmp_path: Path
) -> None:
    slack_port = free_port()
    process, url = _serve_with_slack_at(slack_port, database_url, tmp_path, token="xoxb-not-ours")
    try:
        assert _health(url)["slack"] == "unreachable"
        with fake_slack(slack_port):
            _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 2
    assert err.strip().splitlines()[-1] == (
        "error: Slack refused SLACK_BOT_TOKEN (invalid_auth): set it to a valid token of "
        "this app and start again"
    )
    assert "Traceback" not in err
    assert "xoxb-not-ours" not in err


def test_socket_mode_starts_while_slack_is_down_and_connects_once_it_is_back(
    database_url: str,
) -> None:
    settings = parse_settings(
        yaml.safe_load(yaml.safe_dump(CONFIG)), "test.yml", {"DATABASE_URL": database_url}
    )
    slack_port = free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",
        "SLACK_API_TIMEOUT": "2",
    }
    service = build_service(settings, read_environment(env), FixedClock(NOW))
    service.start()  # Slack refuses connections: no exception, no socket yet
    try:
        with serve(service.app) as url:
            assert httpx.get(f"{url}/healthz").json()["slack"] == "unreachable"
            with fake_slack(slack_port) as slack:
                assert slack.socket_connected.wait(60), "the bot never opened the socket"
                assert slack.called("auth.test")
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    if httpx.get(f"{url}/healthz").json()["slack"] == "ok":
                        break
                    time.sleep(0.05)
                assert httpx.get(f"{url}/healthz").json()["slack"] == "ok"
    finally:
        service.stop()

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

import httpx
import yaml

from bot.bootstrap import build_service
from bot.clock import FixedClock
from bot.config import parse_settings
from tests.e2e.conftest import CONFIG, NOW, USERS, slack_payload
from tests.fakes import APP_TOKEN, BOT_TOKEN, fake_slack


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
        service = build_service(settings, env, FixedClock(NOW))
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

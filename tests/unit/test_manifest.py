"""manifest.yml is a valid Slack app manifest, asks for no scope the bot does not use,
and points every URL at the one endpoint the server serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Slack's public schema, vendored with its source and licence (tests/fixtures/schemas/README.md)
SCHEMA = ROOT / "tests" / "fixtures" / "schemas" / "slack-manifest.schema.1.0.0.json"
# every scope, and the Web API method or event that needs it
NEEDED = {
    "chat:write": "chat.postMessage, chat.update, chat.postEphemeral",
    "commands": "/ignorerate",
    "users:read": "users.info",
    "users:read.email": "users.lookupByEmail",
    "channels:history": "message.channels",
    "groups:history": "message.groups",
    "metadata.message:read": "message metadata of type lead_handoff",
    "files:write": "files.getUploadURLExternal, files.completeUploadExternal (weekly chart)",
}


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    return loaded


def test_manifest_validates_against_slacks_schema() -> None:
    jsonschema.validate(manifest(), json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_a_broken_manifest_would_fail_the_schema() -> None:
    broken = manifest()
    broken["settings"]["interactivity"]["is_enabled"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_scopes_are_exactly_the_ones_the_bot_uses() -> None:
    assert sorted(manifest()["oauth_config"]["scopes"]["bot"]) == sorted(NEEDED)


def test_every_request_url_is_the_bolt_endpoint() -> None:
    m = manifest()
    urls = [
        m["settings"]["event_subscriptions"]["request_url"],
        m["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in m["features"]["slash_commands"]),
    ]
    assert all(u.endswith("/slack/events") for u in urls)


def test_the_command_the_bot_registers_is_the_one_declared() -> None:
    (command,) = manifest()["features"]["slash_commands"]
    assert command["command"] == "/ignorerate"
    assert "team:NAME" in command["usage_hint"]
    assert manifest()["features"]["app_home"]["home_tab_enabled"] is True
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"app_home_opened", "message.channels", "message.groups"}

"""The outbox's messages as the use cases queue them, and the one place that asks which
platforms a team's message goes to (the rule: metrics.routing)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from bot.config import TeamConfig
from metrics.routing import MessageKind, Platform, Reach, platforms
from storage import outbox as outbox_store


def platforms_of(team: TeamConfig, kind: MessageKind) -> frozenset[Platform]:
    """Which platforms get a message of `kind` for `team` (the rule: metrics.routing)."""
    reach = Reach(
        slack_channel=bool(team.slack_channel),
        slack_handoff_channels=bool(team.handoff_channels),
        teams_webhook=bool(team.teams_webhook),
    )
    return platforms(reach, kind)


@dataclass(frozen=True)
class Message:
    """An outbox row to be: its unique key, what to send, to whom, by which sender.
    A Teams row's target is its team's name, never the webhook URL: the URL's query is a
    credential, and targets are listed by `ignorerate outbox`."""

    key: str
    payload: Mapping[str, object]
    target: str = ""
    platform: str = "slack"


def enqueue_many(conn: Connection, messages: Sequence[Message], now: datetime) -> set[str]:
    """Queues messages in one statement; returns the keys that were new (a key already
    queued is the same message, left as it is)."""
    new = [
        outbox_store.NewMessage(
            m.key, m.platform, m.target, json.dumps(m.payload, ensure_ascii=False)
        )
        for m in messages
    ]
    return outbox_store.queue(conn, new, now)


def enqueue(
    conn: Connection,
    key: str,
    payload: Mapping[str, object],
    now: datetime,
    target: str = "",
    *,
    platform: str = "slack",
) -> bool:
    """Queues one message for delivery by `platform`'s sender; False: already queued."""
    return bool(enqueue_many(conn, [Message(key, payload, target, platform)], now))

"""The outbox's messages: typed records the use cases queue and the senders receive, and
the one place that asks which platforms a team's message goes to (the rule:
metrics.routing).

A message holds data, never a platform's rendering: a lead card, a digest and a summary
are worded by the platform's sender when they are delivered, so a lead acted on while its
row waited shows what happened, and neither use cases nor the outbox import a platform.
`encode` and `decode` are the row's JSON, the one place its shape is written. `decode`
also reads the rows an earlier version queued (a Teams summary card rendered when queued),
so an upgrade with rows still pending loses none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from bot.config import TeamConfig
from metrics.digests import Digest, TeamsDigest
from metrics.routing import MessageKind, Platform, Reach, platforms
from metrics.summary import Summary, TrendPoint
from storage import outbox as outbox_store
from storage.engine import Connection

__all__ = [
    "Chart",
    "Digest",
    "Kind",
    "LeadCard",
    "Message",
    "Outgoing",
    "Post",
    "RenderedCard",
    "SummaryPost",
    "TeamsDigest",
    "UnreadableMessageError",
    "WriteBack",
    "decode",
    "encode",
    "enqueue",
    "enqueue_many",
    "kind_of",
    "platforms_of",
]


def platforms_of(team: TeamConfig, kind: MessageKind) -> frozenset[Platform]:
    """Which platforms get a message of `kind` for `team` (the rule: metrics.routing)."""
    reach = Reach(
        slack_channel=bool(team.slack_channel),
        slack_handoff_channels=bool(team.handoff_channels),
        teams_webhook=bool(team.teams_webhook),
    )
    return platforms(reach, kind)


class Kind(StrEnum):
    """The `kind` a row's JSON carries."""

    LEAD_CARD = "lead_card"
    DIGEST = "digest"
    SUMMARY = "summary"
    CHART = "chart"
    POST = "post"
    WRITE_BACK = "write_back"


@dataclass(frozen=True)
class LeadCard:
    """A new lead's card, worded from the database when delivered. On Slack `to` is
    "owner" (a DM; the team channel when the owner is not in Slack) or "channel"; a
    Teams card goes to its team's channel and has none."""

    lead_id: int
    to: str | None = None
    kind: ClassVar[Kind] = Kind.LEAD_CARD


@dataclass(frozen=True)
class SummaryPost:
    """A team's weekly summary: its numbers, worded by each platform when delivered."""

    summary: Summary
    kind: ClassVar[Kind] = Kind.SUMMARY


@dataclass(frozen=True)
class Chart:
    """The summary's trend chart, drawn when delivered: the outbox keeps the series,
    never an image (Slack uploads it; Teams links to it, see bot.http.charts)."""

    channel: str
    filename: str
    title: str
    trend: tuple[TrendPoint, ...]
    initial_comment: str | None = None
    kind: ClassVar[Kind] = Kind.CHART


@dataclass(frozen=True)
class Post:
    """Words fixed when queued (a reply in a handoff channel's thread)."""

    channel: str
    text: str
    blocks: tuple[Mapping[str, Any], ...] | None = None
    thread_ts: str | None = None
    kind: ClassVar[Kind] = Kind.POST


@dataclass(frozen=True)
class RenderedCard:
    """A Teams summary card rendered when queued, as versions before typed messages
    queued it; read so that such rows still go out after an upgrade."""

    team: str
    week: str
    card: Mapping[str, Any]
    kind: ClassVar[Kind] = Kind.SUMMARY


@dataclass(frozen=True)
class WriteBack:
    """A click written back to the CRM its lead came from, as one completed activity:
    read from the database when delivered (`bot.app.crm.write_back_of`)."""

    action_id: int
    kind: ClassVar[Kind] = Kind.WRITE_BACK


Message = LeadCard | Digest | TeamsDigest | SummaryPost | Chart | Post | RenderedCard | WriteBack


class UnreadableMessageError(ValueError):
    """A row whose JSON is no message this version knows: nothing can send it."""


def encode(message: Message) -> str:
    body: dict[str, Any]
    match message:
        case WriteBack(action_id=action_id):
            body = {"action_id": action_id}
        case LeadCard(lead_id=lead_id, to=to):
            body = {"lead_id": lead_id} | ({"to": to} if to is not None else {})
        case Digest():
            body = {
                "audience": message.audience,
                "to": message.to,
                "teams": list(message.teams),
                "lead_ids": list(message.lead_ids),
            }
        case TeamsDigest():
            body = {
                "team": message.team,
                "reminders": list(message.reminders),
                "escalations": list(message.escalations),
            }
        case SummaryPost(summary=summary):
            body = {"summary": summary.as_record()}
        case Chart():
            body = {
                "channel": message.channel,
                "filename": message.filename,
                "title": message.title,
                "trend": [p.as_dict() for p in message.trend],
            }
            if message.initial_comment is not None:
                body["initial_comment"] = message.initial_comment
        case Post():
            body = {"channel": message.channel, "text": message.text}
            if message.blocks is not None:
                body["blocks"] = list(message.blocks)
            if message.thread_ts is not None:
                body["thread_ts"] = message.thread_ts
        case RenderedCard():
            body = {"team": message.team, "week": message.week, "card": message.card}
    return json.dumps({"kind": kind_of(message).value, **body}, ensure_ascii=False)


def kind_of(message: Message) -> Kind:
    if isinstance(message, Digest | TeamsDigest):  # records of the domain's, kind-less
        return Kind.DIGEST
    return message.kind


def decode(payload: str) -> Message:
    """The message a row holds; UnreadableMessageError when it holds none this version
    knows (the sender parks the row as dead, saying why)."""
    try:
        raw = json.loads(payload)
    except ValueError as err:
        raise UnreadableMessageError(f"unreadable outbox message (not JSON: {err})") from None
    if not isinstance(raw, dict):
        raise UnreadableMessageError("unreadable outbox message (not a JSON object)")
    try:
        kind = Kind(str(raw.get("kind")))
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        raise UnreadableMessageError(
            f"unreadable outbox message (unknown message kind {raw.get('kind')!r}; known: {known})"
        ) from None
    try:
        return _READERS[kind](raw)
    except (KeyError, TypeError, ValueError) as err:
        raise UnreadableMessageError(f"unreadable {kind} message ({err!r})") from None


def _lead_card(raw: dict[str, Any]) -> Message:
    to = raw.get("to")
    return LeadCard(int(raw["lead_id"]), None if to is None else str(to))


def _digest(raw: dict[str, Any]) -> Message:
    if "team" in raw:  # a Teams team's channel
        return TeamsDigest(
            str(raw["team"]),
            tuple(int(i) for i in raw.get("reminders", [])),
            tuple(int(i) for i in raw.get("escalations", [])),
        )
    return Digest(
        str(raw["audience"]),
        str(raw["to"]),
        tuple(str(t) for t in raw["teams"]),
        tuple(int(i) for i in raw["lead_ids"]),
    )


def _summary(raw: dict[str, Any]) -> Message:
    if "card" in raw:
        return RenderedCard(str(raw["team"]), str(raw["week"]), raw["card"])
    return SummaryPost(Summary.from_record(raw["summary"]))


def _chart(raw: dict[str, Any]) -> Message:
    comment = raw.get("initial_comment")
    return Chart(
        str(raw["channel"]),
        str(raw["filename"]),
        str(raw["title"]),
        tuple(TrendPoint.from_dict(p) for p in raw["trend"]),
        None if comment is None else str(comment),
    )


def _post(raw: dict[str, Any]) -> Message:
    blocks, thread = raw.get("blocks"), raw.get("thread_ts")
    return Post(
        str(raw["channel"]),
        str(raw["text"]),
        None if blocks is None else tuple(blocks),
        None if thread is None else str(thread),
    )


def _write_back(raw: dict[str, Any]) -> Message:
    return WriteBack(int(raw["action_id"]))


_READERS = {
    Kind.WRITE_BACK: _write_back,
    Kind.LEAD_CARD: _lead_card,
    Kind.DIGEST: _digest,
    Kind.SUMMARY: _summary,
    Kind.CHART: _chart,
    Kind.POST: _post,
}


@dataclass(frozen=True)
class Outgoing:
    """An outbox row to be: its unique key, the message, the platform whose sender
    delivers it, and to whom. A Teams row's target is its team's name, never the webhook
    URL: the URL's query is a credential, and targets are listed by `ignorerate outbox`."""

    key: str
    message: Message
    platform: Platform = Platform.SLACK
    target: str = ""


def enqueue_many(conn: Connection, messages: Sequence[Outgoing], now: datetime) -> set[str]:
    """Queues messages in one statement; returns the keys that were new (a key already
    queued is the same message, left as it is)."""
    rows = [
        outbox_store.NewMessage(m.key, m.platform.value, m.target, encode(m.message))
        for m in messages
    ]
    return outbox_store.queue(conn, rows, now)


def enqueue(
    conn: Connection,
    key: str,
    message: Message,
    now: datetime,
    target: str = "",
    *,
    platform: Platform = Platform.SLACK,
) -> bool:
    """Queues one message for delivery by `platform`'s sender; False: already queued."""
    return bool(enqueue_many(conn, [Outgoing(key, message, platform, target)], now))

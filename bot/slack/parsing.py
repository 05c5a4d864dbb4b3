"""Reading handoffs announced as Slack messages (message metadata, or plain text read by
a pattern). The `/ignorerate` argument grammar, which Teams shares, is
`bot.present.command`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.app.fields import FieldError, LeadInput, validate_lead
from bot.config import HandoffChannel, TeamConfig

HANDOFF_EVENT_TYPE = "lead_handoff"


@dataclass(frozen=True)
class HandoffMessage:
    """A message that announces a handoff: either read, or refused with every reason."""

    lead: LeadInput | None
    problems: list[FieldError]
    owner_slack_id: str | None = None


def _message_time(event: Mapping[str, Any]) -> str | None:
    """The message's `ts` (Unix seconds, "1764000000.000100") as ISO 8601; None if it is
    not such a time."""
    ts = event.get("ts")
    if not isinstance(ts, str) or not re.fullmatch(r"\d{1,12}(\.\d{1,6})?", ts):
        return None
    return datetime.fromtimestamp(float(ts), UTC).isoformat()


def read_handoff_message(  # noqa: PLR0911 (each way a message is not a lead)
    event: Mapping[str, Any], team: TeamConfig, channel: HandoffChannel
) -> HandoffMessage | None:
    """None: an ordinary message, not a handoff. A handoff comes as message metadata of
    type `lead_handoff` (fields as the webhook's), or as text the channel's pattern
    matches. Missing fields default to the channel's source, the team, and the time the
    message was posted."""
    metadata = event.get("metadata") or {}
    fields: dict[str, object]
    if metadata.get("event_type") == HANDOFF_EVENT_TYPE:
        payload = metadata.get("event_payload")
        if not isinstance(payload, Mapping):
            return HandoffMessage(
                None, [FieldError("event_payload", "expected an object of lead fields")]
            )
        fields = dict(payload)
    elif channel.pattern is not None:
        match = channel.pattern.search(event.get("text") or "")
        if match is None:
            return None
        fields = {k: v for k, v in match.groupdict().items() if v is not None}
    else:
        return None
    fields.setdefault("source", channel.source)
    fields.setdefault("team", team.name)
    if "handed_off_at" not in fields:
        posted = _message_time(event)
        if posted is None:
            return HandoffMessage(None, [FieldError("ts", "expected the message's Slack time")])
        fields["handed_off_at"] = posted
    owner_slack_id = fields.pop("owner_slack_id", None)
    if str(fields.get("team")) != team.name:
        return HandoffMessage(
            None,
            [FieldError("team", f'this channel takes leads for "{team.name}" only')],
        )
    problems = [
        FieldError(k, "expected text") for k, v in fields.items() if isinstance(v, dict | list)
    ]
    if problems:
        return HandoffMessage(None, problems)
    result = validate_lead(fields, {team.name: team})
    if isinstance(result, list):
        return HandoffMessage(None, result)
    return HandoffMessage(result, [], str(owner_slack_id) if owner_slack_id else None)

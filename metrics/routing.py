"""Which platforms hear of a team's message: decided once, here, for every place that
queues one (handoffs, the SLA sweep, weekly summaries) and every sender that delivers it.

A team is on Slack when its config names a Slack place (`slack_channel`, a handoff
channel) or when it has no Teams webhook (its reps are then reached by Slack DM, the
default). A team whose only place is a `teams_webhook` is Teams-only: nothing of it is
queued for Slack, where it would wait for a recipient that never comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Platform(StrEnum):
    """Where the outbox delivers: the chat platforms a team's messages are routed to, and
    the CRMs clicks are written back to (never a destination of `platforms`)."""

    SLACK = "slack"
    TEAMS = "teams"
    SALESFORCE = "salesforce"
    HUBSPOT = "hubspot"


class MessageKind(StrEnum):
    LEAD_CARD = "lead_card"  # a new lead, to its owner or the team channel
    DIGEST = "digest"  # the sweep's reminders and escalations
    SUMMARY = "summary"  # the weekly summary, posted in a channel


@dataclass(frozen=True)
class Reach:
    """Where a team's config says it can be reached."""

    slack_channel: bool = False
    slack_handoff_channels: bool = False
    teams_webhook: bool = False

    @property
    def on_slack(self) -> bool:
        return self.slack_channel or self.slack_handoff_channels or not self.teams_webhook


def platforms(reach: Reach, kind: MessageKind) -> frozenset[Platform]:
    """The platforms that get a message of `kind` for a team reached as `reach`. A summary
    goes to channels only (a Slack team without `slack_channel` has none for it); cards and
    digests reach Slack people directly, so any team on Slack gets them there."""
    out: set[Platform] = set()
    if reach.teams_webhook:
        out.add(Platform.TEAMS)
    if reach.on_slack and (kind is not MessageKind.SUMMARY or reach.slack_channel):
        out.add(Platform.SLACK)
    return frozenset(out)

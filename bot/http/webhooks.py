"""The webhooks (docs/openapi.yml). Who may post, the body, its items and the answers are
`WebhookDoor`'s (bot/http/door.py: a signature or the bearer token; one object or a batch
of at most 500). Each door here reads its items and stores the good ones:

- `POST /hooks/handoff`: leads from a CRM or marketing tool; fields as the leads CSV, plus
  an optional `owner_slack_id`. A lead is keyed by (source, external_id).
- `POST /hooks/action`: what was done about leads, from a CRM (Pipedrive, Zoho, Marketo),
  Zapier or a script; fields as the actions CSV. An action is keyed by what it says
  (`bot.app.actions.action_key`), so one sent again is recorded once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.app.actions import receive_actions
from bot.app.fields import (
    ACTION_COLUMNS,
    LEAD_COLUMNS,
    ActionInput,
    FieldError,
    LeadInput,
    validate_action,
    validate_lead,
)
from bot.app.handoffs import receive_handoffs
from bot.app.ports import PeopleLookup
from bot.http.door import MAX_BODY, Stored, WebhookDoor, refused_item

__all__ = ["MAX_BODY", "ActionDoor", "HandoffDoor"]

VIA = "webhook"  # how the actions of `POST /hooks/action` are recorded (Action.via)


@dataclass
class HandoffDoor(WebhookDoor[LeadInput]):
    directory: PeopleLookup | None = None  # to read `owner_slack_id` as an email
    wake_outbox: Callable[[], None] = lambda: None

    name = "handoff webhook"
    label = "webhook"
    batch = "leads"
    noun = "lead"
    fields = (*LEAD_COLUMNS, "owner_slack_id")
    done = "stored"
    again = "a lead already stored is not stored twice"

    def _validate(self, item: Mapping[str, Any]) -> tuple[LeadInput | None, list[FieldError]]:
        result = validate_lead(item, self.settings.team_names)
        if isinstance(result, list):
            return None, result
        slack_id = item.get("owner_slack_id")
        if slack_id and not result.owner_email and self.directory is not None:
            try:
                person = self.directory.by_slack_id(str(slack_id))
            except Exception:
                person = None
            if person is not None:
                result = replace(result, owner_email=person.email)
        return result, []

    def _store(self, good: list[tuple[int, LeadInput]]) -> Stored:
        first: dict[tuple[str, str], int] = {}  # a lead's key -> index of its first item
        leads: list[LeadInput] = []
        for index, lead in good:
            if lead.key not in first:
                first[lead.key] = index
                leads.append(lead)
        result = receive_handoffs(self.engine, self.settings, leads, self.clock.now())
        accepted: list[dict[str, Any]] = []
        for index, lead in good:
            lead_id = result.ids[lead.key]
            answer: dict[str, Any] = {
                "index": index,
                "source": lead.source,
                "external_id": lead.external_id,
                "id": lead_id,
                "new": lead_id in result.new,
            }
            if first[lead.key] != index:  # answered as the lead it repeats
                answer["repeat_of"] = first[lead.key]
            accepted.append(answer)
        new = sum(1 for lead in leads if result.ids[lead.key] in result.new)
        self.wake_outbox()
        return Stored(accepted, new=new, known=len(leads) - new)

    def _tally(self, result: str, count: int) -> None:
        self.metrics.handoffs.labels("webhook", result).inc(count)


@dataclass
class ActionDoor(WebhookDoor[ActionInput]):
    name = "action webhook"
    label = "action_webhook"
    batch = "actions"
    noun = "action"
    fields = ACTION_COLUMNS
    done = "recorded"
    again = "an action already recorded is not recorded twice"

    def _validate(self, item: Mapping[str, Any]) -> tuple[ActionInput | None, list[FieldError]]:
        result = validate_action(item)
        if isinstance(result, list):
            return None, result
        return result, []

    def _store(self, good: list[tuple[int, ActionInput]]) -> Stored:
        received = receive_actions(
            self.engine, self.settings, [action for _, action in good], self.clock.now(), VIA
        )
        problems: dict[int, list[FieldError]] = {}  # position in `good` -> its problems
        for position, problem in received.errors:
            problems.setdefault(position, []).append(problem)
        accepted: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        first: dict[int, int] = {}  # an action's id -> index of its first item
        for position, (index, action) in enumerate(good):
            if position in problems:
                refused.append(refused_item(index, action.external_id, problems[position]))
                continue
            action_id = received.ids[position]
            answer: dict[str, Any] = {
                "index": index,
                "source": action.source,
                "external_id": action.external_id,
                "kind": kind_text(action),
                "id": action_id,
                "new": action_id in received.new,
            }
            if first.setdefault(action_id, index) != index:  # the same action again
                answer["repeat_of"] = first[action_id]
            accepted.append(answer)
        new = len(received.new)
        return Stored(accepted, refused, new=new, known=len(first) - new)

    def _tally(self, result: str, count: int) -> None:
        self.metrics.actions.labels("webhook", result).inc(count)


def kind_text(action: ActionInput) -> str:
    """The action's kind as written in a request: `contacted:call`, `rejected`, ..."""
    return f"{action.kind.value}:{action.channel}" if action.channel else action.kind.value

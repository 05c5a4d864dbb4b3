"""Actions recorded from outside a click (a CSV of actions, `POST /hooks/action`): checked
against their leads, recorded once however often they are sent."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.app.fields import ActionInput, FieldError
from bot.config import Settings
from metrics.model import NewAction
from storage import leads as store
from storage import repository as repo
from storage.engine import Connection, Engine, writing
from storage.types import truncate_to_second


def action_key(action: ActionInput, origin: str) -> str:
    """Two records of the same thing (same lead, moment, kind, person) are one action."""
    parts = (
        action.source,
        action.external_id,
        truncate_to_second(action.at).isoformat(),
        action.kind.value,
        action.channel or "",
        action.actor_email or "",
        action.reason or "",
        action.new_owner_email or "",
    )
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{origin}:{digest}"


@dataclass(frozen=True)
class ActionOutcome:
    recorded: int
    already_recorded: int
    errors: list[tuple[int, FieldError]]  # (index in the input, problem)
    inserted: tuple[int, ...] = ()  # the ids of the actions recorded now


def no_lead(source: str, external_id: str) -> FieldError:
    return FieldError("external_id", f'no lead "{external_id}" from source "{source}"')


def before_handoff(at: datetime, handed_off_at: datetime) -> FieldError:
    return FieldError(
        "at", f"{at.isoformat()} is before the lead's handoff {handed_off_at.isoformat()}"
    )


def check_actions(
    conn: Connection, actions: Sequence[ActionInput]
) -> tuple[dict[tuple[str, str], repo.LeadRef], list[tuple[int, FieldError]]]:
    """What the fields alone cannot tell: the lead exists, and the action is not before it."""
    leads = repo.find_leads(conn, (a.key for a in actions))
    errors = []
    for i, action in enumerate(actions):
        ref = leads.get(action.key)
        if ref is None:
            errors.append((i, no_lead(action.source, action.external_id)))
        elif truncate_to_second(action.at) < ref.handed_off_at:
            errors.append((i, before_handoff(action.at, ref.handed_off_at)))
    return leads, errors


def record_actions(
    conn: Connection,
    settings: Settings,
    actions: Sequence[ActionInput],
    now: datetime,
    via: str,
) -> ActionOutcome:
    """Appends the valid actions; refuses the others, saying why, and records none twice."""
    leads, errors = check_actions(conn, actions)
    bad = {i for i, _ in errors}
    rows = []
    for i, action in enumerate(actions):
        if i in bad:
            continue
        reason = settings.reason(action.reason) if action.reason else None
        rows.append(
            NewAction(
                lead_id=leads[action.key].id,
                at=action.at,
                kind=action.kind,
                idempotency_key=action_key(action, via),
                via=via,
                channel=action.channel,
                reason=reason.code if reason else action.reason,
                excludes=bool(reason and reason.excludes),
                actor_email=action.actor_email,
                new_owner_email=action.new_owner_email,
            )
        )
    inserted = repo.add_actions(conn, rows, now)
    return ActionOutcome(len(inserted), len(rows) - len(inserted), errors, tuple(inserted))


@dataclass(frozen=True)
class ActionsReceived:
    """What became of each action given, by its position in the list: recorded (its id,
    and whether it was recorded now or before) or refused (why)."""

    ids: dict[int, int]  # position -> the action's id; the same action twice, one id
    new: frozenset[int]  # the ids recorded by this call
    errors: list[tuple[int, FieldError]]  # (position, problem): the lead unknown, ...


def receive_actions(
    engine: Engine,
    settings: Settings,
    actions: Sequence[ActionInput],
    now: datetime,
    via: str,
) -> ActionsReceived:
    """Records the actions in one transaction, each once (a request sent again records
    nothing), and says what became of each: the actions of a lead not known, or dated
    before its handoff, are refused and the others recorded."""
    with writing(engine) as conn:
        outcome = record_actions(conn, settings, actions, now, via)
        refused = {i for i, _ in outcome.errors}
        keys = {i: action_key(a, via) for i, a in enumerate(actions) if i not in refused}
        found = store.action_ids(conn, list(keys.values()))
    return ActionsReceived(
        {i: found[key] for i, key in keys.items()}, frozenset(outcome.inserted), outcome.errors
    )

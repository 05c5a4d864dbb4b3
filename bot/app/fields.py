"""Reading the fields of a lead or an action, from a CSV row, a webhook or a Slack message.

Each validator returns either the parsed input or every problem it found, each naming
its field, so that one bad value never hides another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from metrics.instants import SUPPORTED, is_supported
from metrics.model import ActionKind, ContactChannel

LEAD_COLUMNS = (
    "source",
    "external_id",
    "handed_off_at",
    "team",
    "owner_email",
    "name",
    "company",
    "email",
    "campaign",
)
LEAD_REQUIRED = ("source", "external_id", "handed_off_at", "team")
ACTION_COLUMNS = ("source", "external_id", "at", "kind", "actor_email", "reason", "new_owner_email")
ACTION_REQUIRED = ("source", "external_id", "at", "kind")
ACTION_KINDS = (
    *(f"contacted:{c.value}" for c in ContactChannel),
    "rejected",
    "excluded",
    "reassigned",
    "snoozed",
    "comment",
)
LIMITS = {
    "source": 100,
    "external_id": 200,
    "team": 100,
    "owner_email": 320,
    "name": 300,
    "company": 300,
    "email": 320,
    "campaign": 300,
    "actor_email": 320,
    "new_owner_email": 320,
    "reason": 300,
}

NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class LeadInput:
    source: str
    external_id: str
    handed_off_at: datetime
    team: str
    owner_email: str | None
    name: str | None
    company: str | None
    email: str | None
    campaign: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.external_id)


@dataclass(frozen=True)
class ActionInput:
    source: str
    external_id: str
    at: datetime
    kind: ActionKind
    channel: str | None
    actor_email: str | None
    reason: str | None
    new_owner_email: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.external_id)


def parse_instant(text: str) -> datetime:
    """ISO 8601 with an offset (`Z` allowed). A time without an offset is refused: which
    zone it meant is exactly the kind of guess that shifts a deadline by hours."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f'"{text}" is not an ISO 8601 time; expected e.g. 2026-11-24T10:00:00+09:00'
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f'"{text}" has no UTC offset; expected e.g. 2026-11-24T10:00:00+09:00')
    return moment


class _Collector:
    def __init__(self, fields: Mapping[str, object]) -> None:
        self.fields = fields
        self.errors: list[FieldError] = []

    def get(self, name: str, *, required: bool = False) -> str | None:
        # blank is absent; an import asks this of every cell of a million rows
        raw = self.fields.get(name)
        value = (raw if isinstance(raw, str) else "" if raw is None else str(raw)).strip()
        if not value:
            if required:
                self.errors.append(FieldError(name, "is required"))
            return None
        if "\x00" in value or (not value.isascii() and NOT_TEXT.search(value)):
            # PostgreSQL stores no NUL, and no database stores half a surrogate pair
            self.errors.append(
                FieldError(name, "contains a NUL character or an unpaired surrogate; not text")
            )
            return None
        if len(value) > LIMITS.get(name, len(value)):
            self.errors.append(
                FieldError(name, f"is {len(value)} characters; at most {LIMITS[name]}")
            )
            return None
        return value

    def instant(self, name: str) -> datetime | None:
        text = self.get(name, required=True)
        if text is None:
            return None
        try:
            moment = parse_instant(text)
        except ValueError as err:
            self.errors.append(FieldError(name, str(err)))
            return None
        if not is_supported(moment):  # every door reads its instants here
            self.errors.append(
                FieldError(
                    name, f"{moment.isoformat()} is outside the supported range ({SUPPORTED})"
                )
            )
            return None
        return moment

    def email(self, name: str, *, required: bool = False) -> str | None:
        value = self.get(name, required=required)
        if value is None:
            return None
        local, at, domain = value.partition("@")
        if not at or not local or "." not in domain or " " in value:
            self.errors.append(FieldError(name, f'"{value}" is not an email address'))
            return None
        return value.lower()


LeadValues = tuple[
    str, str, datetime, str, str | None, str | None, str | None, str | None, str | None
]


def lead_values(
    fields: Mapping[str, object], teams: Mapping[str, object]
) -> LeadValues | list[FieldError]:
    """`validate_lead`'s answer as the tuple of `LeadInput`'s fields (what an import of a
    million rows stages, without making a million objects on the way)."""
    c = _Collector(fields)
    source = c.get("source", required=True)
    external_id = c.get("external_id", required=True)
    handed = c.instant("handed_off_at")
    team = c.get("team", required=True)
    if team is not None and team not in teams:
        known = ", ".join(sorted(teams)) or "none configured"
        c.errors.append(FieldError("team", f'unknown team "{team}"; configured teams: {known}'))
    owner = c.email("owner_email")
    name = c.get("name")
    company = c.get("company")
    email = c.get("email")
    campaign = c.get("campaign")
    if c.errors:
        return c.errors
    # every required field was checked above
    assert source is not None
    assert external_id is not None
    assert handed is not None
    assert team is not None
    return (source, external_id, handed, team, owner, name, company, email, campaign)


def validate_lead(
    fields: Mapping[str, object], teams: Mapping[str, object]
) -> LeadInput | list[FieldError]:
    values = lead_values(fields, teams)
    return values if isinstance(values, list) else LeadInput(*values)


def validate_action(fields: Mapping[str, object]) -> ActionInput | list[FieldError]:
    """Checks one action on its own; whether its lead exists is the use case's question."""
    c = _Collector(fields)
    source = c.get("source", required=True)
    external_id = c.get("external_id", required=True)
    at = c.instant("at")
    kind_text = c.get("kind", required=True)
    actor = c.email("actor_email")
    reason = c.get("reason")
    new_owner = c.email("new_owner_email")
    kind: ActionKind | None = None
    channel: str | None = None
    if kind_text is not None:
        normalised = kind_text.lower()
        if normalised not in ACTION_KINDS:
            c.errors.append(
                FieldError(
                    "kind",
                    f'"{kind_text}" is not a kind; expected one of {", ".join(ACTION_KINDS)}',
                )
            )
        else:
            word, _, channel_text = normalised.partition(":")
            kind = ActionKind(word)
            channel = channel_text or None
    if kind is ActionKind.REJECTED and reason is None:
        c.errors.append(
            FieldError("reason", "a rejection needs a reason (e.g. not_a_fit, duplicate)")
        )
    if (
        kind is ActionKind.REASSIGNED
        and new_owner is None
        and not any(e.field == "new_owner_email" for e in c.errors)
    ):
        c.errors.append(FieldError("new_owner_email", "a reassignment needs the new owner's email"))
    if kind not in (None, ActionKind.REASSIGNED) and new_owner is not None:
        c.errors.append(FieldError("new_owner_email", "only a reassignment takes a new owner"))
    if c.errors:
        return c.errors
    # every required field was checked above
    assert source is not None
    assert external_id is not None
    assert at is not None
    assert kind is not None
    return ActionInput(source, external_id, at, kind, channel, actor, reason, new_owner)

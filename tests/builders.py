"""Small builders for domain objects in tests."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from metrics.model import Action, ActionKind, ContactChannel, Lead, OwnerSpan

T0 = datetime(2026, 10, 5, 0, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def lead(
    *,
    handed: float = 0,
    due: float = 4,
    owner: str | None = "a@example.com",
    actions: tuple[Action, ...] = (),
    owners: tuple[OwnerSpan, ...] | None = None,
    source: str = "web",
    external_id: str = "1",
) -> Lead:
    return Lead(
        source=source,
        external_id=external_id,
        handed_off_at=at(handed),
        due_at=at(due),
        owners=owners if owners is not None else (OwnerSpan(at(handed), owner),),
        actions=actions,
    )


def contacted(hours: float, seq: int = 0, actor: str | None = None) -> Action:
    return Action(at(hours), ActionKind.CONTACTED, seq, channel=ContactChannel.CALL, actor=actor)


def rejected(hours: float, *, excludes: bool = False, seq: int = 0) -> Action:
    return Action(at(hours), ActionKind.REJECTED, seq, reason="no_budget", excludes=excludes)


def excluded(hours: float, seq: int = 0) -> Action:
    return Action(at(hours), ActionKind.EXCLUDED, seq, reason="duplicate")


def snoozed(hours: float, seq: int = 0) -> Action:
    return Action(at(hours), ActionKind.SNOOZED, seq)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))

"""Who may act on a lead, and who may become its owner: decided over the emails the
config names (lowercase), so the rule is the same from every door."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    TEAMMATE = "teammate"


class Ownership(StrEnum):
    TEAM = "team"  # a rep or manager of the lead's team
    CROSS_TEAM = "cross_team"  # a rep of another team, picked by an admin (and recorded so)


@dataclass(frozen=True)
class People:
    """The people around one lead's team, as the config names them."""

    admins: Collection[str] = ()
    managers: Collection[str] = ()  # the lead's team's
    reps: Collection[str] = ()  # the lead's team's
    every_rep: Collection[str] = ()  # the reps of every team, this one's included


def role_of(people: People, owner: str | None, actor: str) -> Role | None:
    """What the actor is to a lead owned by `owner`; None: a stranger, who may not act
    on it."""
    actor = actor.lower()
    if owner is not None and owner.lower() == actor:
        return Role.OWNER
    if actor in people.admins:
        return Role.ADMIN
    if actor in people.managers:
        return Role.MANAGER
    if actor in people.reps:
        return Role.TEAMMATE
    return None


def new_owner_scope(people: People, role: Role, new_owner: str) -> Ownership | None:
    """Whether the person `role` picked may own the lead; None: they may not (a person on
    no team, or on another team picked by anyone but an admin)."""
    new_owner = new_owner.lower()
    if new_owner in people.reps or new_owner in people.managers:
        return Ownership.TEAM
    if role is Role.ADMIN and new_owner in people.every_rep:
        return Ownership.CROSS_TEAM
    return None

"""Who may act on a lead and who may own it, over plain sets of emails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.access import Ownership, People, Role, new_owner_scope, role_of

PEOPLE = People(
    admins=frozenset({"admin@example.com"}),
    managers=frozenset({"boss@example.com"}),
    reps=frozenset({"a@example.com", "b@example.com"}),
    every_rep=frozenset({"a@example.com", "b@example.com", "c@example.com"}),
)
EMAILS = [
    "a@example.com",
    "b@example.com",
    "boss@example.com",
    "c@example.com",
    "smbboss@example.com",
    "admin@example.com",
    "nobody@example.com",
]


@pytest.mark.parametrize(
    ("owner", "actor", "role"),
    [
        ("a@example.com", "A@Example.com", Role.OWNER),
        ("A@Example.com", "a@example.com", Role.OWNER),
        ("a@example.com", "admin@example.com", Role.ADMIN),
        ("admin@example.com", "admin@example.com", Role.OWNER),  # owning comes first
        ("a@example.com", "boss@example.com", Role.MANAGER),
        ("a@example.com", "b@example.com", Role.TEAMMATE),
        (None, "a@example.com", Role.TEAMMATE),
        ("a@example.com", "c@example.com", None),  # a rep of another team
        ("a@example.com", "smbboss@example.com", None),  # a manager of another team
        (None, "nobody@example.com", None),
    ],
)
def test_role_of(owner: str | None, actor: str, role: Role | None) -> None:
    assert role_of(PEOPLE, owner, actor) is role


def test_nobody_is_anybody_to_a_team_without_people() -> None:
    assert role_of(People(), None, "a@example.com") is None
    assert role_of(People(), "a@example.com", "a@example.com") is Role.OWNER


@pytest.mark.parametrize(
    ("role", "new_owner", "scope"),
    [
        (Role.OWNER, "b@example.com", Ownership.TEAM),
        (Role.TEAMMATE, "boss@example.com", Ownership.TEAM),
        (Role.MANAGER, "A@Example.com", Ownership.TEAM),
        (Role.OWNER, "nobody@example.com", None),
        (Role.TEAMMATE, "c@example.com", None),
        (Role.MANAGER, "c@example.com", None),
        (Role.ADMIN, "C@example.com", Ownership.CROSS_TEAM),
        (Role.ADMIN, "smbboss@example.com", None),  # another team's manager is no rep
        (Role.ADMIN, "admin@example.com", None),
    ],
)
def test_new_owner_scope(role: Role, new_owner: str, scope: Ownership | None) -> None:
    assert new_owner_scope(PEOPLE, role, new_owner) is scope


@given(st.sampled_from(EMAILS), st.sampled_from([None, *EMAILS]))
def test_a_rep_or_manager_of_another_team_is_never_allowed(actor: str, owner: str | None) -> None:
    role = role_of(PEOPLE, owner, actor)
    in_team = actor in PEOPLE.reps or actor in PEOPLE.managers or actor in PEOPLE.admins
    if actor != owner and not in_team:
        assert role is None
    if role is not None:
        assert actor == owner or in_team


@given(st.sampled_from(list(Role)), st.sampled_from(EMAILS))
def test_only_an_admin_moves_a_lead_out_of_its_team_and_only_to_a_rep(
    role: Role, new_owner: str
) -> None:
    scope = new_owner_scope(PEOPLE, role, new_owner)
    if scope is Ownership.CROSS_TEAM:
        assert role is Role.ADMIN
        assert new_owner in PEOPLE.every_rep
    in_team = new_owner in PEOPLE.reps or new_owner in PEOPLE.managers
    assert (scope is Ownership.TEAM) == in_team

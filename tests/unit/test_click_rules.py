"""The pure rules a click is judged by: who may be a lead's new owner, and how long a
snooze may last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app.clicks import SNOOZE_MINUTES, Ownership, Role, new_owner_scope, role_of, snooze_end
from bot.config import Settings, parse_settings

AT = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
SETTINGS: Settings = parse_settings(
    {
        "timezone": "UTC",
        "admins": ["admin@example.com"],
        "teams": [
            {
                "name": "ent",
                "sla": {"minutes": 60},
                "managers": ["boss@example.com"],
                "reps": ["a@example.com", "b@example.com"],
            },
            {
                "name": "smb",
                "sla": {"minutes": 60},
                "managers": ["smbboss@example.com"],
                "reps": ["c@example.com"],
            },
        ],
    },
    "test.yml",
    env={},
)
ENT = SETTINGS.teams[0]
PEOPLE = [
    "a@example.com",
    "b@example.com",
    "boss@example.com",
    "c@example.com",
    "smbboss@example.com",
    "admin@example.com",
    "nobody@example.com",
]


@pytest.mark.parametrize(
    ("role", "new_owner", "scope"),
    [
        (Role.OWNER, "b@example.com", Ownership.TEAM),
        (Role.TEAMMATE, "boss@example.com", Ownership.TEAM),
        (Role.MANAGER, "A@Example.com", Ownership.TEAM),
        (Role.OWNER, "nobody@example.com", None),
        (Role.TEAMMATE, "c@example.com", None),
        (Role.MANAGER, "c@example.com", None),
        (Role.ADMIN, "c@example.com", Ownership.CROSS_TEAM),
        (Role.ADMIN, "smbboss@example.com", None),  # another team's manager is no rep
        (Role.ADMIN, "nobody@example.com", None),
        (Role.ADMIN, "admin@example.com", None),
    ],
)
def test_who_may_be_the_new_owner(role: Role, new_owner: str, scope: Ownership | None) -> None:
    assert new_owner_scope(SETTINGS, ENT, role, new_owner) is scope


@given(st.sampled_from(PEOPLE), st.sampled_from(PEOPLE))
def test_a_lead_never_leaves_its_team_but_by_an_admin_to_a_rep(actor: str, new_owner: str) -> None:
    role = role_of(SETTINGS, ENT, "a@example.com", actor)
    if role is None:
        return  # a stranger is refused before any of this
    scope = new_owner_scope(SETTINGS, ENT, role, new_owner)
    in_team = new_owner in ENT.reps or new_owner in ENT.managers
    if scope is Ownership.TEAM:
        assert in_team
    elif scope is Ownership.CROSS_TEAM:
        assert role is Role.ADMIN
        assert any(new_owner in team.reps for team in SETTINGS.teams)
    else:
        assert not in_team


@given(st.one_of(st.none(), st.integers()))
def test_a_snooze_lasts_an_offered_length_and_ends_after_it_was_asked(
    minutes: int | None,
) -> None:
    end = snooze_end(AT, minutes)
    if minutes in SNOOZE_MINUTES:
        assert end == AT + timedelta(minutes=minutes)
        assert end > AT
    else:
        assert end is None

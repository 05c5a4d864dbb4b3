"""Who sees what: the config's admins, each team's managers and reps, and nobody else."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.app.viewers import TeamRole, Viewer, viewer_for
from bot.config import Settings, parse_settings

CONFIG: dict[str, Any] = {
    "admins": ["revops@example.com"],
    "teams": [
        {
            "name": "enterprise",
            "sla": {"minutes": 60, "business_hours": False},
            "managers": ["boss@example.com"],
            "reps": ["a@example.com", "b@example.com", "boss@example.com"],
        },
        {
            "name": "smb",
            "sla": {"minutes": 60, "business_hours": False},
            "managers": ["smbboss@example.com"],
            "reps": ["c@example.com", "a@example.com"],
        },
    ],
}
SETTINGS: Settings = parse_settings(CONFIG, "test.yml", {})
PEOPLE = [
    "revops@example.com",
    "boss@example.com",
    "smbboss@example.com",
    "a@example.com",
    "b@example.com",
    "c@example.com",
    "stranger@example.com",
]


def test_an_admin_sees_every_team_and_every_lead() -> None:
    viewer = viewer_for(SETTINGS, "RevOps@Example.com", "Rev")
    assert viewer.email == "revops@example.com"
    assert viewer.rate_teams == {"enterprise", "smb"}
    assert {viewer.role(t) for t in ("enterprise", "smb")} == {TeamRole.ADMIN}
    assert viewer.sees_lead("smb", None)
    assert viewer.sees_lead("enterprise", "c@example.com")


def test_a_manager_sees_their_team_only_and_all_its_leads() -> None:
    viewer = viewer_for(SETTINGS, "smbboss@example.com")
    assert viewer.rate_teams == {"smb"}
    assert viewer.role("smb") is TeamRole.MANAGER
    assert viewer.sees_lead("smb", "c@example.com")
    assert viewer.sees_lead("smb", None)
    assert not viewer.sees_lead("enterprise", "a@example.com")


def test_a_manager_also_listed_as_a_rep_keeps_the_wider_view() -> None:
    viewer = viewer_for(SETTINGS, "boss@example.com")
    assert viewer.teams[0].role is TeamRole.MANAGER
    assert viewer.sees_lead("enterprise", "a@example.com")


def test_a_rep_sees_their_teams_rates_but_only_their_own_leads() -> None:
    viewer = viewer_for(SETTINGS, "a@example.com", "Ann")
    assert viewer.rate_teams == {"enterprise", "smb"}
    assert viewer.role("enterprise") is TeamRole.REP
    assert viewer.sees_lead("enterprise", "A@example.com")
    assert not viewer.sees_lead("enterprise", "b@example.com")
    assert not viewer.sees_lead("enterprise", None)  # unassigned leads are the managers'


def test_anyone_else_sees_nothing() -> None:
    viewer = viewer_for(SETTINGS, "stranger@example.com", "Stan")
    assert not viewer.sees_anything
    assert viewer.rate_teams == frozenset()
    assert viewer.role("smb") is None
    assert not viewer.sees_lead("smb", "stranger@example.com")


def test_a_name_left_blank_is_the_email() -> None:
    assert viewer_for(SETTINGS, "c@example.com", "  ").name == "c@example.com"


@given(
    person=st.sampled_from(PEOPLE),
    team=st.sampled_from(["enterprise", "smb", "gone"]),
    owner=st.sampled_from([*PEOPLE, None]),
)
def test_a_lead_is_shown_only_as_the_config_allows(
    person: str, team: str, owner: str | None
) -> None:
    viewer: Viewer = viewer_for(SETTINGS, person)
    config = SETTINGS.team(team)
    if person in SETTINGS.admins:
        expected = config is not None
    elif config is None:
        expected = False
    elif person in config.managers:
        expected = True
    elif person in config.reps:
        expected = owner == person
    else:
        expected = False
    assert viewer.sees_lead(team, owner) is expected
    assert (team in viewer.rate_teams) is (config is not None and viewer.role(team) is not None)

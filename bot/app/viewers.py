"""Who sees what on the dashboard, from the one email a sign-in proved and the config's
people: admins see every team; a manager their teams; a rep their team's rates and only
the leads they own; anyone else nothing.

The `Viewer` lives here, below the adapters, because the use cases that read rates and
leads for a page are the ones that must keep to its scope: the web adapter proves the
email (a verified claim of the sign-in), this module alone says what that email may see.
It is worked out again on each request, so a change to the config's people counts at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.config import Settings


class TeamRole(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    REP = "rep"


@dataclass(frozen=True)
class TeamView:
    """What a viewer sees of one team: its rates, and its leads owned by `owners` (None:
    every lead of the team, unassigned ones included)."""

    team: str
    role: TeamRole
    owners: frozenset[str] | None


@dataclass(frozen=True)
class Viewer:
    """A signed-in person and what they may see. `email` is lowercase."""

    email: str
    name: str
    teams: tuple[TeamView, ...] = ()

    @property
    def sees_anything(self) -> bool:
        return bool(self.teams)

    @property
    def rate_teams(self) -> frozenset[str]:
        """The teams whose rates this viewer sees."""
        return frozenset(v.team for v in self.teams)

    def role(self, team: str) -> TeamRole | None:
        view = self.view(team)
        return view.role if view else None

    def view(self, team: str) -> TeamView | None:
        return next((v for v in self.teams if v.team == team), None)

    def sees_lead(self, team: str, owner: str | None) -> bool:
        """Whether a lead of `team` owned by `owner` (None: unassigned) is shown."""
        view = self.view(team)
        if view is None:
            return False
        if view.owners is None:
            return True
        return owner is not None and owner.lower() in view.owners


def viewer_for(settings: Settings, email: str, name: str = "") -> Viewer:
    """The viewer a proven `email` is; one that sees nothing when the config names them
    nowhere. Of two roles in one team (a manager also listed as a rep) the wider counts."""
    email = email.strip().lower()
    views: list[TeamView] = []
    admin = email in settings.admins
    for team in settings.teams:
        if admin:
            views.append(TeamView(team.name, TeamRole.ADMIN, None))
        elif email in team.managers:
            views.append(TeamView(team.name, TeamRole.MANAGER, None))
        elif email in team.reps:
            views.append(TeamView(team.name, TeamRole.REP, frozenset({email})))
    return Viewer(email=email, name=name.strip() or email, teams=tuple(views))

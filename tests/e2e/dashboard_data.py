"""What the dashboard's end-to-end tests share: the moment they are read at, the people
who sign in, the generated data (the demo's generator with its story, plus a few hostile
leads) imported through the CSV import into a fresh database on either backend, and the
comparison of a page's data attributes with `ignorerate report --format json`."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app.demo import Shape, write
from bot.cli import main
from bot.config import Settings, load_settings
from storage.engine import make_engine
from tests.conftest import reset
from tests.fake_oidc import OidcUser

AS_OF = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
SESSION_SECRET = "session-secret-for-tests-0123456789abcdef"
SHAPE = Shape(leads=3000, reps_per_team=4, days=120, story=True)
TEAMS = ("enterprise", "emea", "smb")

ADMIN = OidcUser("U1", "revops@example.com", "Rev Ops")
MANAGER = OidcUser("U2", "boss.ent@example.com", "Ent Boss")
REP = OidcUser("U3", "enterprise.rep001@example.com", "Rep One")
STRANGER = OidcUser("U5", "stranger@example.com", "Stan")

HOSTILE = {
    "source": "webinar",
    "external_id": "webinar-hostile",
    "handed_off_at": "2026-11-10T10:00:00+09:00",
    "team": "enterprise",
    "owner_email": REP.email,
    "name": "=2+3",
    "company": "+SUM(A1)",
    "email": "",
    "campaign": "@camp<script>",
}
OTHER_REPS_LEAD = {
    **HOSTILE,
    "external_id": "webinar-other",
    "name": "Other's lead",
    "owner_email": "enterprise.rep002@example.com",
    "campaign": "-minus",
}


class Later:
    """An ASGI app set once the server's address is known (the provider must be told
    where to send people back)."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def fresh_database(
    request: pytest.FixtureRequest, backend: str, out: Path, sqlite_template: Path
) -> str:
    """An empty, migrated database on `backend`; its URL."""
    if backend == "sqlite":
        shutil.copy(sqlite_template, out / "ignorerate.db")
        return f"sqlite:///{out / 'ignorerate.db'}"
    url: str = request.getfixturevalue("pg_url")
    cleaner = make_engine(url)
    reset(cleaner)
    cleaner.dispose()
    return url


def generated_site(
    request: pytest.FixtureRequest, out: Path, sqlite_template: Path
) -> tuple[str, dict[str, str], Settings]:
    """A fresh database on the fixture's backend (`request.param`) holding `generated`'s
    data: its URL, the CLI's environment, and the settings."""
    url = fresh_database(request, request.param, out, sqlite_template)
    env = generated(url, out / "data")
    settings = load_settings(Path(env["IGNORERATE_CONFIG"]), env={"DATABASE_URL": url})
    return url, env, settings


def generated(database_url: str, out: Path) -> dict[str, str]:
    """The demo's generated data (SHAPE) and the hostile leads, imported through
    `ignorerate import`; the environment the CLI reads them with (database, config)."""
    leads, actions, config = write(SHAPE, out)
    env = {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(config)}
    with leads.open("a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        for lead in (HOSTILE, OTHER_REPS_LEAD):
            writer.writerow(lead.values())
    with actions.open("a", newline="", encoding="utf-8") as f:
        csv.writer(f).writerow(
            [
                "webinar",
                "webinar-hostile",
                "2026-11-10T10:30:00+09:00",
                "contacted:call",
                REP.email,
                "",
                "",
            ]
        )
    for kind, path in (("leads", leads), ("actions", actions)):
        result = CliRunner().invoke(main, ["import", kind, str(path)], env=env)
        assert result.exit_code == 0, result.output
    return env


FIELDS = ("handed_off", "excluded", "pending", "counted", "ignored", "on_time", "late", "rejected")
RATES = ("ignore_rate", "sal_rate", "sla_breach_rate")


def same_counts(attrs: dict[str, str], expected: dict[str, Any]) -> None:
    """A page's data-* attributes (named with their `data-` prefix) equal the report's
    counts, rates and median."""
    for field in FIELDS:
        assert int(attrs[f"data-{field.replace('_', '-')}"]) == expected[field], field
    for field in RATES:
        got = attrs[f"data-{field.replace('_', '-')}"]
        assert (float(got) if got else None) == expected[field], field
    seconds = attrs["data-median-first-action-seconds"]
    minutes = expected["median_first_action_minutes"]
    if minutes is None:
        assert seconds == ""
    else:
        assert float(seconds) / 60 == pytest.approx(minutes, rel=1e-12)


def shown_rate(value: float | None) -> str:
    """A rate as the pages show it."""
    return "—" if value is None else f"{value:.1f} %"

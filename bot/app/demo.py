"""The demo's data, and the benchmarks': realistic handoffs and actions at any size,
streamed (a million leads in constant memory), deterministic for a seed.

Teams in three time zones with business-hour and wall-time SLAs; repeats of the same
lead, reassignments, exclusions, rejections, late and untouched leads, snoozes and
comments. With `story`, the last four weeks carry something for "why it moved" to find:
webinar leads doubled, and they are ignored more than the others.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app.fields import ACTION_COLUMNS, LEAD_COLUMNS
from bot.app.imports import ActionImporter, ImportResult, LeadImporter
from bot.clock import FixedClock
from bot.config import Settings, load_settings
from storage.engine import make_engine
from storage.migrate import upgrade

CONFIG = """\
timezone: Asia/Tokyo
locale: en
admins: [revops@example.com]
teams:
  - name: enterprise
    timezone: Asia/Tokyo
    sla: {minutes: 240, business_hours: true}
    business_hours: {mon-fri: "09:00-18:00"}
    holiday_country: JP
    managers: [boss.ent@example.com]
    reps: [%(enterprise)s]
  - name: emea
    timezone: Europe/Berlin
    sla: {minutes: 120, business_hours: true}
    business_hours: {mon-thu: "08:30-12:00,13:00-17:30", fri: "08:30-15:00"}
    holidays: ["2026-12-24", "2026-12-25"]
    managers: [boss.emea@example.com]
    reps: [%(emea)s]
  - name: smb
    timezone: America/New_York
    sla: {minutes: 1440, business_hours: false}
    managers: [boss.smb@example.com]
    reps: [%(smb)s]
"""
TEAMS = ("enterprise", "emea", "smb")
SOURCES = ("webinar", "website", "ads", "event", "partner", "content")
CHANNELS = ("call", "email", "meeting", "message", "other")
KEEP_REASONS = ("not_a_fit", "no_budget", "bad_timing", "competitor")
EXCLUDE_REASONS = ("duplicate", "test_or_spam", "invalid_contact", "existing_customer")


@dataclass(frozen=True)
class Shape:
    leads: int
    reps_per_team: int = 20
    end: datetime = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    days: int = 120
    seed: int = 7
    story: bool = False  # the last four weeks: webinar leads doubled, and ignored more


STORY_DAYS = 28


def reps(shape: Shape) -> dict[str, list[str]]:
    return {t: [f"{t}.rep{i:03d}@example.com" for i in range(shape.reps_per_team)] for t in TEAMS}


def config_text(shape: Shape) -> str:
    return CONFIG % {t: ", ".join(r) for t, r in reps(shape).items()}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def rows(shape: Shape) -> Iterator[tuple[list[str] | None, list[list[str]]]]:
    """Yields (lead row or None for nothing new, action rows) per lead."""
    rng = random.Random(shape.seed)  # noqa: S311 (made-up data, no secret)
    team_reps = reps(shape)
    start = shape.end - timedelta(days=shape.days)
    span = int((shape.end - start).total_seconds())
    for n in range(shape.leads):
        team = TEAMS[n % 3]
        if shape.story:
            handed = start + timedelta(seconds=rng.randrange(span))
            recent = handed >= shape.end - timedelta(days=STORY_DAYS)
            weights = [2 if recent and s == "webinar" else 1 for s in SOURCES]
            source = rng.choices(SOURCES, weights)[0]
            contacted = 0.40 if recent and source == "webinar" else 0.72
        else:  # the benchmarks' data, draw for draw as it always was
            source = rng.choice(SOURCES)
            handed = start + timedelta(seconds=rng.randrange(span))
            contacted = 0.72
        owner = rng.choice(team_reps[team]) if rng.random() > 0.05 else ""
        lead = [
            source,
            f"{source}-{n:08d}",
            _iso(handed),
            team,
            owner,
            f"Prospect {n}",
            f"Company {n % 5000}",
            f"p{n}@prospect.example",
            f"campaign-{n % 40}",
        ]
        actions: list[list[str]] = []

        def act(
            at: datetime,
            kind: str,
            actor: str = "",
            reason: str = "",
            new_owner: str = "",
            *,
            into: list[list[str]] = actions,
            key: tuple[str, str] = (lead[0], lead[1]),
        ) -> None:
            into.append([*key, _iso(at), kind, actor, reason, new_owner])

        holder = owner
        if rng.random() < 0.08:  # reassigned once, within a day
            new_owner = rng.choice(team_reps[team])
            act(handed + timedelta(minutes=rng.randrange(1, 1440)), "reassigned", "", "", new_owner)
            holder = new_owner
        roll = rng.random()
        delay = timedelta(minutes=int(rng.lognormvariate(5.0, 1.4)))  # median ~2.5 h, long tail
        touched = handed + delay
        if roll < 0.05:
            act(touched, "excluded", holder, rng.choice(EXCLUDE_REASONS))
        elif roll < 0.12:
            act(touched, "rejected", holder, rng.choice(KEEP_REASONS))
        elif roll < 0.13:
            act(touched, "rejected", holder, rng.choice(EXCLUDE_REASONS))
        elif roll < contacted:
            act(touched, f"contacted:{rng.choice(CHANNELS)}", holder)
            if rng.random() < 0.3:  # follow-ups are not first touches
                act(
                    touched + timedelta(hours=rng.randrange(1, 72)),
                    f"contacted:{rng.choice(CHANNELS)}",
                    holder,
                )
        if rng.random() < 0.05:
            act(handed + timedelta(minutes=30), "snoozed", holder)
        if rng.random() < 0.05:
            act(handed + timedelta(minutes=rng.randrange(1, 600)), "comment", holder)
        rng.shuffle(actions)  # exports are not in time order
        # drop actions still in the future of the data set's "now" (they have not happened)
        actions = [a for a in actions if datetime.fromisoformat(a[2]) <= shape.end]
        yield lead, actions
        if rng.random() < 0.01:  # the CRM sent the same lead again
            yield lead, []


def write(shape: Shape, out: Path) -> tuple[Path, Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    leads_path, actions_path, config_path = (
        out / "leads.csv",
        out / "actions.csv",
        out / "ignorerate.yml",
    )
    config_path.write_text(config_text(shape), encoding="utf-8")
    with (
        leads_path.open("w", newline="", encoding="utf-8") as lf,
        actions_path.open("w", newline="", encoding="utf-8") as af,
    ):
        lw, aw = csv.writer(lf), csv.writer(af)
        lw.writerow(LEAD_COLUMNS)
        aw.writerow(ACTION_COLUMNS)
        for lead, actions in rows(shape):
            if lead is not None:
                lw.writerow(lead)
            aw.writerows(actions)
    return leads_path, actions_path, config_path


DEMO_LEADS = 9000  # about a hundred a day over three months, for three teams
DEMO_DAYS = 91
# who the demo's sign-in offers: one of each role the configuration gives
DEMO_PEOPLE = ("revops@example.com", "boss.ent@example.com", "enterprise.rep001@example.com")


class DemoError(RuntimeError):
    """The demo's own data did not import: a defect, said plainly rather than half-built."""


def build(directory: Path, now: datetime, *, leads: int = DEMO_LEADS) -> Settings:
    """A fresh demo in `directory`: its configuration (`ignorerate.yml`), three months of
    generated leads and actions for three teams ending at `now` (as CSV files), and
    `demo.db`, a SQLite database built from nothing and imported from them by the CSV
    import. Whatever an earlier demo left there is replaced. Returns its settings."""
    database = directory / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    end = now.astimezone(UTC).replace(microsecond=0)
    shape = Shape(leads=leads, end=end, days=DEMO_DAYS, seed=2026, story=True)
    leads_csv, actions_csv, config = write(shape, directory)
    settings = load_settings(config, env={"DATABASE_URL": f"sqlite:///{database}"})
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        for kind, path in ((LeadImporter, leads_csv), (ActionImporter, actions_csv)):
            result = kind(
                engine,
                settings,
                FixedClock(end),
                path,
                skip_invalid=False,
                on_error=lambda _problem: None,
                on_progress=lambda _bytes: None,
                encoding="utf-8",
            ).run()
            _check(path, result)
    finally:
        engine.dispose()
    return settings


def _check(path: Path, result: ImportResult) -> None:
    if not result.imported:
        first = "; ".join(str(e) for e in result.errors[:3])
        why = result.header_error or result.write_error or first
        raise DemoError(f"{path.name}: the demo's data did not import: {why}")

"""Realistic handoff and action CSVs at any size, streamed (a million leads in constant memory).

Teams in three time zones with business-hour and wall-time SLAs; repeats of the same
lead, reassignments, exclusions, rejections, late and untouched leads, snoozes and
comments. Deterministic for a seed.

    python -m bench.generate --leads 100000 --out bench/out
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app.fields import ACTION_COLUMNS, LEAD_COLUMNS

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


def reps(shape: Shape) -> dict[str, list[str]]:
    return {t: [f"{t}.rep{i:03d}@example.com" for i in range(shape.reps_per_team)] for t in TEAMS}


def config_text(shape: Shape) -> str:
    return CONFIG % {t: ", ".join(r) for t, r in reps(shape).items()}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def rows(shape: Shape) -> Iterator[tuple[list[str] | None, list[list[str]]]]:
    """Yields (lead row or None for nothing new, action rows) per lead."""
    rng = random.Random(shape.seed)
    team_reps = reps(shape)
    start = shape.end - timedelta(days=shape.days)
    span = int((shape.end - start).total_seconds())
    for n in range(shape.leads):
        team = TEAMS[n % 3]
        source = rng.choice(SOURCES)
        handed = start + timedelta(seconds=rng.randrange(span))
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
        elif roll < 0.72:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    paths = write(Shape(leads=args.leads, seed=args.seed), args.out)
    print("wrote", *paths)


if __name__ == "__main__":
    main()

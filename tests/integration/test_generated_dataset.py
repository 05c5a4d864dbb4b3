"""On generated data with repeats, reassignments, exclusions, late and pending leads,
`report --format json` equals a straightforward Python computation of the spec."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.generate import Shape, write
from bot.app.fields import parse_instant
from bot.cli import main
from bot.config import load_settings
from metrics.model import Action, ActionKind, ContactChannel, Lead, OwnerSpan
from metrics.outcomes import attributed_rep
from metrics.periods import parse_period
from metrics.rates import Counts, tally
from metrics.sla import due_at
from storage.types import truncate_to_second
from tests.builders import read_csv

AS_OF = "2026-11-20T15:00:00+09:00"


def _expected_leads(leads_csv: Path, actions_csv: Path, config: Path) -> list[Lead]:
    settings = load_settings(config, env={})
    leads: dict[tuple[str, str], dict[str, object]] = {}
    for row in read_csv(leads_csv):
        key = (row["source"], row["external_id"])
        if key in leads:
            continue  # the same lead again
        team = settings.team(row["team"])
        assert team is not None
        handed = parse_instant(row["handed_off_at"])
        leads[key] = {
            "handed": truncate_to_second(handed),
            "due": truncate_to_second(due_at(handed, team.sla, team.calendar)),
            "owner": row["owner_email"] or None,
        }
    actions: dict[tuple[str, str], list[Action]] = defaultdict(list)
    owners: dict[tuple[str, str], list[OwnerSpan]] = defaultdict(list)
    for seq, row in enumerate(read_csv(actions_csv), start=1):
        key = (row["source"], row["external_id"])
        word, _, channel = row["kind"].partition(":")
        kind = ActionKind(word)
        reason = settings.reason(row["reason"]) if row["reason"] else None
        at = truncate_to_second(parse_instant(row["at"]))
        actions[key].append(
            Action(
                at=at,
                kind=kind,
                seq=seq,
                channel=ContactChannel(channel) if channel else None,
                excludes=bool(reason and reason.excludes),
            )
        )
        if kind is ActionKind.REASSIGNED:
            owners[key].append(OwnerSpan(at, row["new_owner_email"], seq))
    return [
        Lead(
            source=key[0],
            external_id=key[1],
            team=None,
            handed_off_at=facts["handed"],  # type: ignore[arg-type]
            due_at=facts["due"],  # type: ignore[arg-type]
            owners=(OwnerSpan(facts["handed"], facts["owner"], 0), *owners[key]),  # type: ignore[arg-type]
            actions=tuple(actions[key]),
        )
        for key, facts in leads.items()
    ]


def _as_dict(rows: dict[object, Counts], name: str) -> list[dict[str, object]]:
    keys = sorted((k for k in rows if k is not None), key=str)
    ordered = keys + ([None] if None in rows else [])
    return [{name: k, **rows[k].as_dict()} for k in ordered]


@pytest.mark.slow
@pytest.mark.parametrize("period", ["last-month", "last-3-weeks", "2026-Q3"])
def test_report_on_generated_data_matches_the_spec(
    tmp_path: Path, database_url: str, period: str
) -> None:
    leads_csv, actions_csv, config = write(Shape(leads=1500, days=100), tmp_path)
    env = {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(config)}
    runner = CliRunner()
    for kind, path in (("leads", leads_csv), ("actions", actions_csv)):
        result = runner.invoke(main, ["import", kind, str(path)], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    result = runner.invoke(
        main,
        ["report", period, "--as-of", AS_OF, "--format", "json"],
        env=env,
        catch_exceptions=False,
    )
    got = json.loads(result.output)

    model = _expected_leads(leads_csv, actions_csv, config)
    settings = load_settings(config, env={})
    as_of = parse_instant(AS_OF)
    start, end = parse_period(period, as_of.astimezone(settings.timezone).date()).bounds(
        settings.timezone
    )
    cohort = [m for m in model if start <= m.handed_off_at < end and m.handed_off_at <= as_of]
    by_rep: dict[object, list[Lead]] = defaultdict(list)
    by_source: dict[object, list[Lead]] = defaultdict(list)
    for m in cohort:
        by_rep[attributed_rep(m, as_of)].append(m)
        by_source[m.source].append(m)
    totals = tally(cohort, as_of)

    for present in ("late", "ignored", "excluded", "rejected"):
        assert getattr(totals, present) > 0, f"the generated data has no {present} lead"
    assert got["totals"] == totals.as_dict()
    assert got["by_rep"] == _as_dict({k: tally(v, as_of) for k, v in by_rep.items()}, "rep")
    assert got["by_source"] == _as_dict(
        {k: tally(v, as_of) for k, v in by_source.items()}, "source"
    )
    assert datetime.fromisoformat(got["as_of"]).astimezone(UTC) == as_of.astimezone(UTC)
